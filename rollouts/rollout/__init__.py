"""Pure domain logic of the Rollout controller (rollout-lifecycle.md).

``hashing`` computes the plan hash annotation from the model's declarations; ``model`` holds the
small typed accessors over the decoded v1beta1 Rollout (decoded once at the edge, docs/domain.md)
and the ``Observation`` the reconciler fills; ``conditions`` implements
the condition helper with upstream's quirks; ``steps`` is the canary/partition step machine (§6);
``actions`` lists the side effects as data; ``machine`` computes phases (§4), runs the Progressing
reasons (§5) and returns the new status plus intended actions for the reconciler.
"""
