"""Pure domain logic of the Rollout controller (rollout-lifecycle.md).

``hashing`` computes the plan hash annotation and revision hashes; ``model`` is the single place
that knows the v1beta1 wire field names of Rollout/BatchRelease dicts (switching to the attrs models
later is local to it) and holds the ``Observation`` the reconciler fills; ``conditions`` implements
the condition helper with upstream's quirks; ``steps`` is the canary/partition step machine (§6);
``actions`` lists the side effects as data; ``machine`` computes phases (§4), runs the Progressing
reasons (§5) and returns the new status plus intended actions for the reconciler.
"""
