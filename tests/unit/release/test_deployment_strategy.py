import json

from rollouts.release.deployment_strategy import (
    ADVANCED_CONTROLLED_LABEL,
    CONTROL_INFO_ANNOTATION,
    DEPLOYMENT_EXTRA_STATUS_ANNOTATION,
    DEPLOYMENT_STRATEGY_ANNOTATION,
    STABLE_REVISION_LABEL,
    DeploymentStrategy,
    control_info,
    finalize_patch,
    initialize_patch,
    is_under_rollout_control,
    parse_strategy,
    upgrade_batch_patch,
    webhook_partition_patch,
    with_defaults,
)

CI = control_info("rollouts-demo", "uid-1")


def native(rolling_update=None):
    strategy = {"type": "RollingUpdate"}
    if rolling_update is not None:
        strategy["rollingUpdate"] = rolling_update
    return {"metadata": {"name": "workload-demo", "annotations": {}}, "spec": {"replicas": 10, "strategy": strategy}}


def controlled(partition=0, ru=None):
    ru = ru or {"maxUnavailable": "25%", "maxSurge": "25%"}
    s = {"rollingStyle": "Partition", "rollingUpdate": ru, "partition": partition}
    return {
        "metadata": {
            "labels": {ADVANCED_CONTROLLED_LABEL: "true", STABLE_REVISION_LABEL: "6c7764b765"},
            "annotations": {
                DEPLOYMENT_STRATEGY_ANNOTATION: json.dumps(s),
                CONTROL_INFO_ANNOTATION: CI,
                DEPLOYMENT_EXTRA_STATUS_ANNOTATION: "{}",
            },
        },
        "spec": {"replicas": 10, "paused": True, "strategy": {"type": "Recreate"}},
    }


def test_control_info_json():
    assert CI == (
        '{"apiVersion":"rollouts.kruise.io/v1beta1","kind":"BatchRelease","name":"rollouts-demo",'
        '"uid":"uid-1","controller":true,"blockOwnerDeletion":true}'
    )


def test_strategy_json_go_order_and_omitempty():
    s = with_defaults(DeploymentStrategy(has_rolling_update=False))
    assert (
        s.to_json()
        == '{"rollingStyle":"Partition","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"},"partition":0}'
    )
    assert parse_strategy(s.to_json()) == s
    assert '"paused":true' in DeploymentStrategy(paused=True, partition="50%").to_json()
    assert parse_strategy("not json") is None


def test_with_defaults_fixes_upstream_max_surge_bug():
    s = with_defaults(DeploymentStrategy(max_unavailable=1, max_surge=None))
    assert (s.max_unavailable, s.max_surge) == (1, "25%")


def test_initialize_patch_takes_rolling_update_from_spec():
    patch = initialize_patch(native({"maxUnavailable": 0, "maxSurge": 1}), CI)
    assert patch["spec"] == {"paused": True, "strategy": {"type": "Recreate", "rollingUpdate": None}}
    assert patch["metadata"]["labels"] == {ADVANCED_CONTROLLED_LABEL: "true"}
    anns = patch["metadata"]["annotations"]
    assert anns[CONTROL_INFO_ANNOTATION] == CI
    assert json.loads(anns[DEPLOYMENT_STRATEGY_ANNOTATION]) == {
        "rollingStyle": "Partition",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        "partition": 0,
    }


def test_initialize_defaults_and_noop_when_controlled():
    patch = initialize_patch(native(), CI)
    strategy = json.loads(patch["metadata"]["annotations"][DEPLOYMENT_STRATEGY_ANNOTATION])
    assert strategy["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": "25%"}
    assert initialize_patch(controlled(), CI) is None
    assert is_under_rollout_control(controlled())
    assert not is_under_rollout_control(native())


def test_upgrade_batch_only_raises_partition():
    patch = upgrade_batch_patch(controlled(1), "50%")
    assert json.loads(patch["metadata"]["annotations"][DEPLOYMENT_STRATEGY_ANNOTATION])["partition"] == "50%"
    assert upgrade_batch_patch(controlled("50%"), "50%") is None
    assert upgrade_batch_patch(controlled("100%"), 1) is None
    assert upgrade_batch_patch(native(), 1) is None


def test_finalize_restores_strategy():
    patch = finalize_patch(controlled("100%", {"maxUnavailable": 0, "maxSurge": 1}), batch_partition_is_nil=True)
    assert patch == {
        "metadata": {
            "annotations": {
                CONTROL_INFO_ANNOTATION: None,
                DEPLOYMENT_STRATEGY_ANNOTATION: None,
                DEPLOYMENT_EXTRA_STATUS_ANNOTATION: None,
            },
            "labels": {STABLE_REVISION_LABEL: None, ADVANCED_CONTROLLED_LABEL: None},
        },
        "spec": {
            "paused": False,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        },
    }


def test_finalize_mid_release_only_drops_control_info_and_keep_paused_gate():
    assert finalize_patch(controlled(), batch_partition_is_nil=False) == {
        "metadata": {"annotations": {CONTROL_INFO_ANNOTATION: None}}
    }
    assert finalize_patch(controlled(), batch_partition_is_nil=True, keep_paused=True)["spec"]["paused"] is True
    assert finalize_patch(native(), batch_partition_is_nil=True) is None


def test_webhook_moves_rolling_update_into_annotation():
    d = controlled(1)
    d["spec"] = {
        "replicas": 10,
        "paused": False,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0}},
    }
    patch = webhook_partition_patch(d, release_changed=True)
    assert patch["spec"] == {"paused": True, "strategy": {"type": "Recreate", "rollingUpdate": None}}
    s = json.loads(patch["metadata"]["annotations"][DEPLOYMENT_STRATEGY_ANNOTATION])
    assert s == {
        "rollingStyle": "Partition",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 2},
        "paused": True,
        "partition": 1,
    }


def test_webhook_noop_when_nothing_changes():
    d = controlled(1)
    d["metadata"]["annotations"][DEPLOYMENT_STRATEGY_ANNOTATION] = with_defaults(
        DeploymentStrategy(partition=1)
    ).to_json()
    assert webhook_partition_patch(d, release_changed=False) is None
    assert webhook_partition_patch(native(), release_changed=True) is None
