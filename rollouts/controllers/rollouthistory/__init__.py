"""RolloutHistory controller (rollout-history.md): one record per release (rollout-id) of a Rollout."""
