"""Every label, annotation and finalizer key the system reads or writes (api.md §6).

Named here once so that controllers, webhooks and tests cannot drift apart on a typo. Values are
the upstream wire strings and must never change.
"""

from typing import Final

GROUP: Final = "rollouts.kruise.io"

# --- §6.1 On Rollout objects -------------------------------------------------------------------
#: Hash of the release plan (rollout-lifecycle.md §3.1); written by the Rollout controller.
ROLLOUT_HASH_ANNOTATION: Final = "rollouts.kruise.io/hash"
#: v1alpha1 style selector, ``partition`` or ``canary`` (case-insensitive); also set by conversion.
ROLLING_STYLE_ANNOTATION: Final = "rollouts.kruise.io/rolling-style"
#: Name of a TrafficRouting object driven during this Rollout's release (v1alpha1 ↔ trafficRoutingRef).
TRAFFIC_ROUTING_ANNOTATION: Final = "rollouts.kruise.io/trafficrouting"
#: ``"true"`` opts into batch-wise rollback (Rollout, copied to the BatchRelease).
ROLLBACK_IN_BATCH_ANNOTATION: Final = "rollouts.kruise.io/rollback-in-batch"
#: Finalizer on every live Rollout.
ROLLOUT_FINALIZER: Final = "rollouts.kruise.io/rollout"

# --- §6.2 On workloads ---------------------------------------------------------------------------
WORKLOAD_TYPE_LABEL: Final = "rollouts.kruise.io/workload-type"
IN_PROGRESSING_ANNOTATION: Final = "rollouts.kruise.io/in-progressing"
#: Label *and* annotation (upstream quirk: controller reads the label, webhook the annotation).
ROLLOUT_ID_LABEL: Final = "rollouts.kruise.io/rollout-id"
ROLLOUT_ID_ANNOTATION: Final = ROLLOUT_ID_LABEL
BATCH_RELEASE_CONTROL_ANNOTATION: Final = "batchrelease.rollouts.kruise.io/control-info"
STABLE_REVISION_LABEL: Final = "rollouts.kruise.io/stable-revision"
DEPLOYMENT_STRATEGY_ANNOTATION: Final = "rollouts.kruise.io/deployment-strategy"
DEPLOYMENT_EXTRA_STATUS_ANNOTATION: Final = "rollouts.kruise.io/deployment-extra-status"
ADVANCED_DEPLOYMENT_CONTROL_LABEL: Final = "rollouts.kruise.io/controlled-by-advanced-deployment-controller"
ORIGINAL_DEPLOYMENT_STRATEGY_ANNOTATION: Final = "rollouts.kruise.io/original-deployment-strategy"
DAEMONSET_REVISION_ANNOTATION: Final = "rollouts.kruise.io/daemonset-revision"
DAEMONSET_ADVANCED_CONTROL_ANNOTATION: Final = "rollouts.kruise.io/daemonset-advanced-control"
DAEMONSET_ORIGINAL_UPDATE_STRATEGY_ANNOTATION: Final = "rollouts.kruise.io/daemonset-original-update-strategy"
CANARY_DEPLOYMENT_LABEL: Final = "rollouts.kruise.io/canary-deployment"
CANARY_DEPLOYMENT_FINALIZER: Final = "finalizer.rollouts.kruise.io/batch-release"

# --- §6.3 On pods ----------------------------------------------------------------------------------
ROLLOUT_BATCH_ID_LABEL: Final = "rollouts.kruise.io/rollout-batch-id"
NO_NEED_UPDATE_POD_LABEL: Final = "rollouts.kruise.io/no-need-update"
CONTROLLER_REVISION_HASH_LABEL: Final = "controller-revision-hash"
POD_TEMPLATE_HASH_LABEL: Final = "pod-template-hash"

# --- §6.4 On Services / network objects ----------------------------------------------------------
ORIGINAL_SPEC_CONFIGURATION_ANNOTATION: Final = "rollouts.kruise.io/original-spec-configuration"
#: Canary Service / Ingress name suffix: ``<stable>-canary`` (traffic-routing.md §1, §4.1).
CANARY_NAME_SUFFIX: Final = "-canary"
#: nginx Ingress canary annotations written on ``<ingress>-canary`` (traffic-routing.md §4.1).
NGINX_CANARY_ANNOTATION: Final = "nginx.ingress.kubernetes.io/canary"
NGINX_CANARY_WEIGHT_ANNOTATION: Final = "nginx.ingress.kubernetes.io/canary-weight"
NGINX_CANARY_BY_HEADER_ANNOTATION: Final = "nginx.ingress.kubernetes.io/canary-by-header"
NGINX_CANARY_BY_HEADER_VALUE_ANNOTATION: Final = "nginx.ingress.kubernetes.io/canary-by-header-value"
NGINX_CANARY_BY_HEADER_PATTERN_ANNOTATION: Final = "nginx.ingress.kubernetes.io/canary-by-header-pattern"
NGINX_CANARY_BY_COOKIE_ANNOTATION: Final = "nginx.ingress.kubernetes.io/canary-by-cookie"
#: A Rollout header match with this name means "cookie" to the Ingress scripts (§4.1).
CANARY_BY_COOKIE_HEADER: Final = "canary-by-cookie"

# --- Lua traffic scripts (lua-contract.md §4.1, §5.1) ------------------------------------------------
#: ConfigMap in the operator namespace holding user Lua scripts (and other settings).
ROLLOUT_CONFIGURATION_CONFIGMAP: Final = "kruise-rollout-configuration"
#: ConfigMap key prefix of an Ingress class script: ``lua.traffic.routing.ingress.<classType>``.
LUA_INGRESS_SCRIPT_KEY_PREFIX: Final = "lua.traffic.routing.ingress."
#: ConfigMap key prefix of a custom-provider script: ``lua.traffic.routing.<Kind>.<group>``.
LUA_CUSTOM_SCRIPT_KEY_PREFIX: Final = "lua.traffic.routing."

# --- §6.5 On TrafficRouting objects ----------------------------------------------------------------
TRAFFIC_ROUTING_FINALIZER: Final = "rollouts.kruise.io/trafficrouting"
#: Prefix; the full finalizer is ``progressing.rollouts.kruise.io/<rolloutName>``.
PROGRESSING_ROLLOUT_FINALIZER_PREFIX: Final = "progressing.rollouts.kruise.io"


def progressing_rollout_finalizer(rollout_name: str) -> str:
    """Finalizer a progressing Rollout puts on the TrafficRouting it drives (§6.5)."""
    return f"{PROGRESSING_ROLLOUT_FINALIZER_PREFIX}/{rollout_name}"


# --- §6.6 On HPAs ----------------------------------------------------------------------------------
HPA_DISABLE_SUFFIX: Final = "-DisableByRollout"

# --- §6.7 On RolloutHistory ------------------------------------------------------------------------
ROLLOUT_NAME_LABEL: Final = "rollouts.kruise.io/rollout-name"

# --- §6.8 On BatchRelease --------------------------------------------------------------------------
BATCH_RELEASE_FINALIZER: Final = "rollouts.kruise.io/batch-release-finalizer"

# --- §6.9 Special numeric constants ----------------------------------------------------------------
#: minReadySeconds used to freeze availability during blue-green.
MAX_READY_SECONDS: Final = 2147483646
#: progressDeadlineSeconds during blue-green (max int32).
MAX_PROGRESS_SECONDS: Final = 2147483647
#: Partition sentinel for StatefulSet-like workloads and Advanced DaemonSet (max int16).
MAX_PARTITION_STATEFULSET: Final = 32767
#: Partition sentinel for CloneSet.
MAX_PARTITION_CLONESET: Final = "100%"
