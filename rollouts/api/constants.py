"""Wire enumerations: API identity, phases, step states, condition types/reasons, styles.

Plain string constants (not Enum) because the values travel untouched through JSON and users (and
other controllers) may write values we do not know; validation decides what is acceptable.
Sources: api.md §1–§5, rollout-lifecycle.md §5, batch-release.md §2.5, traffic-routing.md.
"""

from typing import Final

from rollouts.api import keys

# --- API identity ------------------------------------------------------------------------------
GROUP: Final = keys.GROUP
V1ALPHA1: Final = "v1alpha1"
V1BETA1: Final = "v1beta1"
API_VERSION_V1ALPHA1: Final = f"{GROUP}/{V1ALPHA1}"
API_VERSION_V1BETA1: Final = f"{GROUP}/{V1BETA1}"
KIND_ROLLOUT: Final = "Rollout"
KIND_BATCH_RELEASE: Final = "BatchRelease"
KIND_ROLLOUT_HISTORY: Final = "RolloutHistory"
KIND_TRAFFIC_ROUTING: Final = "TrafficRouting"

# --- Rollout phases (status.phase) ---------------------------------------------------------------
PHASE_INITIAL: Final = "Initial"
PHASE_HEALTHY: Final = "Healthy"
PHASE_PROGRESSING: Final = "Progressing"
PHASE_TERMINATING: Final = "Terminating"
PHASE_DISABLING: Final = "Disabling"
PHASE_DISABLED: Final = "Disabled"

# --- Step states (currentStepState) --------------------------------------------------------------
STEP_STATE_BEFORE_UPGRADE: Final = "BeforeStepUpgrade"
STEP_STATE_UPGRADE: Final = "StepUpgrade"
STEP_STATE_TRAFFIC_ROUTING: Final = "StepTrafficRouting"
STEP_STATE_METRICS_ANALYSIS: Final = "StepMetricsAnalysis"
STEP_STATE_PAUSED: Final = "StepPaused"
STEP_STATE_READY: Final = "StepReady"
STEP_STATE_COMPLETED: Final = "Completed"

# --- Finalising sub-steps (finalisingStep) -------------------------------------------------------
FINALISING_ROUTE_TRAFFIC_TO_NEW: Final = "FinalisingStepRouteTrafficToNew"
FINALISING_ROUTE_TRAFFIC_TO_STABLE: Final = "FinalisingStepRouteTrafficToStable"
FINALISING_RESTORE_STABLE_SERVICE: Final = "RestoreStableService"
FINALISING_REMOVE_CANARY_SERVICE: Final = "RemoveCanaryService"
FINALISING_RESUME_WORKLOAD: Final = "ResumeWorkload"
FINALISING_RELEASE_WORKLOAD_CONTROL: Final = "ReleaseWorkloadControl"
FINALISING_END: Final = "END"
FINALISING_WAIT_ENDLESS: Final = "WaitEndless"  # debugging only

# --- Rollout condition types and reasons -----------------------------------------------------------
CONDITION_PROGRESSING: Final = "Progressing"
CONDITION_SUCCEEDED: Final = "Succeeded"
CONDITION_TERMINATING: Final = "Terminating"

REASON_INITIALIZING: Final = "Initializing"
REASON_IN_ROLLING: Final = "InRolling"
REASON_FINALISING: Final = "Finalising"
REASON_COMPLETED: Final = "Completed"
REASON_CANCELLING: Final = "Cancelling"
REASON_PAUSED: Final = "Paused"
REASON_IN_TERMINATING: Final = "InTerminating"
TERMINATING_REASON_COMPLETED: Final = "Completed"

# Finalise reasons (why cleanup runs).
FINALISE_REASON_SUCCESS: Final = "Success"
FINALISE_REASON_ROLLBACK: Final = "Rollback"
FINALISE_REASON_CONTINUOUS: Final = "Continuous"
FINALISE_REASON_DISABLED: Final = "RolloutDisabled"  # upstream constant name has a typo, value is this
FINALISE_REASON_DELETE: Final = "RolloutDeleting"

CONDITION_TRUE: Final = "True"
CONDITION_FALSE: Final = "False"
CONDITION_UNKNOWN: Final = "Unknown"

# --- Rollout condition/status messages (rollout-lifecycle.md §4–§5) -------------------------------
MSG_HEALTHY: Final = "rollout is healthy"
MSG_PROGRESSING: Final = "Rollout is in Progressing"
MSG_CONTINUOUS_RELEASE: Final = "Workload is continuous release"
MSG_PAUSED: Final = "Rollout has been paused, you can resume it by kube-cli"
MSG_CANCELLING: Final = "The workload has been rolled back and the rollout process will be canceled"
MSG_FINALISING: Final = "Rollout has been completed and some closing work is being done"
MSG_COMPLETED: Final = "Rollout progressing has been completed"
MSG_CANCELED: Final = "Rollout progressing has been canceled"
MSG_TERMINATING: Final = "Rollout is in terminating"
MSG_DISABLING: Final = "Disabling rollout, release resources"
MSG_DISABLED: Final = "Rollout is disabled"
MSG_WORKLOAD_NOT_FOUND: Final = "Workload Not Found"
MSG_WORKLOAD_COMPLETED: Final = "workload deployment is completed"

# --- Rolling styles -----------------------------------------------------------------------------
ROLLING_STYLE_PARTITION: Final = "Partition"
ROLLING_STYLE_CANARY: Final = "Canary"
ROLLING_STYLE_BLUE_GREEN: Final = "BlueGreen"

# --- BatchRelease -------------------------------------------------------------------------------
BR_PHASE_PREPARING: Final = "Preparing"
BR_PHASE_PROGRESSING: Final = "Progressing"
BR_PHASE_FINALIZING: Final = "Finalizing"
BR_PHASE_COMPLETED: Final = "Completed"

BATCH_STATE_UPGRADING: Final = "Upgrading"
BATCH_STATE_VERIFYING: Final = "Verifying"
BATCH_STATE_READY: Final = "Ready"

FINALIZING_POLICY_WAIT_RESUME: Final = "WaitResume"
FINALIZING_POLICY_IMMEDIATE: Final = "Immediate"

# --- TrafficRouting phases -----------------------------------------------------------------------
TR_PHASE_INITIAL: Final = "Initial"
TR_PHASE_HEALTHY: Final = "Healthy"
TR_PHASE_PROGRESSING: Final = "Progressing"
TR_PHASE_FINALIZING: Final = "Finalizing"
TR_PHASE_TERMINATING: Final = "Terminating"

# --- RolloutHistory -----------------------------------------------------------------------------
HISTORY_PHASE_COMPLETED: Final = "completed"

# --- Traffic routing defaults ---------------------------------------------------------------------
#: Schema default of trafficRoutings[].gracePeriodSeconds.
DEFAULT_GRACE_PERIOD_SECONDS: Final = 3
#: Default ``--partition-percent-limit`` of the validating webhook.
DEFAULT_PARTITION_PERCENT_LIMIT: Final = 50
