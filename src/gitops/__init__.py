"""The machinery a fork keeps: pipeline stages, the data-contract engine, the scoring
runtime, the review report, releases, monitoring and the commands the workflows run."""
