"""The BatchRelease controller (batch-release.md §1–§5) and its workload executors.

``executor``     status sync (§2.4) and the phase/batch-state machine (§2.5), workload-agnostic.
``deployment``   the partition-style Deployment control plane (§9.2): Initialize, UpgradeBatch,
                 EnsureBatchPodsReadyAndLabeled, Finalize, SyncWorkloadInformation.
``canary``       the canary-style Deployment control plane (§7): an extra canary Deployment.
``registry``     which control plane a BatchRelease gets (§2.2: rolling style, then kind).
``labelpatch``   labelling pods with the batch they were released in (§5).
``controller``   the reconciler (finalizer, one status write) and its watch mapping.
"""
