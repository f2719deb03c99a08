"""The review report: compare a change with its base, decide the gates, render the PR comment."""
