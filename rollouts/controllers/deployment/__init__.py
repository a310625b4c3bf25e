"""The advanced Deployment controller (batch-release.md §9.2): rolls partition-style Deployments."""
