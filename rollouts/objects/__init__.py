"""Read accessors for foreign objects, one module per kind family, kept as the API server's dicts.

Our own kinds are decoded into the ``rollouts.api`` models at the edge (docs/domain.md). Objects of
kinds we do not own (Deployments, ReplicaSets, StatefulSets, DaemonSets, OpenKruise workloads, Pods)
stay dicts: a model would have to track every upstream field to write them back unchanged. Reading
them goes through these small total functions (a missing or ``null`` section reads as empty) instead
of ``(x.get("spec") or {}).get(...)`` chains spelled out at every use.
"""
