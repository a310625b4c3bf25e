"""Reconcilers: the I/O edge around the pure domain packages (``rollouts.rollout``, ``rollouts.release``).

``rollout``       the Rollout controller: observes the workload and the BatchRelease, runs the pure
                  state machine (``rollouts.rollout.machine``) and performs its intended actions.
``batchrelease``  the BatchRelease controller and its executors (one module per workload kind).
``deployment``    the in-house "advanced Deployment" controller that rolls partition-style
                  Deployments (batch-release.md §9.2) using ``rollouts.release.deployment_partition``.
``common``        resources, merge-patch computation, finalizer helpers shared by the three.
"""
