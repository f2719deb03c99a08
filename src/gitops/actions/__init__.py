"""What the GitHub workflows run: CI metadata, artifact checks, deploys, workflow linting."""
