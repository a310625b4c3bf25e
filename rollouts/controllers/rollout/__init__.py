"""The Rollout controller (rollout-lifecycle.md): a thin reconciler around ``rollouts.rollout.machine``."""
