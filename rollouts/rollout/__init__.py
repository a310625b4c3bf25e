"""Pure domain logic of the Rollout controller (rollout-lifecycle.md).

``hashing`` computes the plan hash annotation and revision hashes; ``model`` is the single place
that knows the v1beta1 wire field names of Rollout/BatchRelease dicts (switching to the attrs models
later is local to it); ``conditions`` implements the condition helper with upstream's quirks;
``steps`` is the canary/partition step machine (§6); ``machine`` computes phases (§4) and runs the
Progressing reasons (§5) and returns the new status plus intended actions for the reconciler.
"""
