"""Conversion v1alpha1 ⇄ v1beta1 (api.md §2.1, §3): the specific mappings and round trips."""

from __future__ import annotations

import copy

import pytest

from rollouts.api import keys
from rollouts.api.conversion import ConversionError, convert

from .conftest import load_sample

A = "rollouts.kruise.io/v1alpha1"
B = "rollouts.kruise.io/v1beta1"
STYLE = keys.ROLLING_STYLE_ANNOTATION
TR = keys.TRAFFIC_ROUTING_ANNOTATION


def _alpha(**canary) -> dict:
    return {
        "apiVersion": A, "kind": "Rollout",
        "metadata": {"name": "r", "namespace": "ns", "labels": {"x": "y"}, "uid": "u1", "resourceVersion": "7"},
        "spec": {"objectRef": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}},
                 "strategy": {"canary": {"steps": [{"replicas": 1}], **canary}}},
    }


def _beta(strategy: dict, **meta) -> dict:
    return {"apiVersion": B, "kind": "Rollout", "metadata": {"name": "r", **meta},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                     "strategy": strategy}}


class TestRolloutToV1beta1:
    def test_spec_sample(self, v1alpha1_rollout: dict) -> None:
        out = convert(v1alpha1_rollout, B)
        assert out["apiVersion"] == B and out["kind"] == "Rollout"
        assert out["metadata"] == v1alpha1_rollout["metadata"]
        assert out["spec"]["workloadRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "echoserver"}
        canary = out["spec"]["strategy"]["canary"]
        assert canary["steps"] == [{"traffic": "5%", "replicas": 1, "pause": {}},
                                   {"traffic": "40%", "replicas": "40%", "pause": {}}]
        assert "enableExtraWorkloadForCanary" not in canary  # partition annotation
        assert canary["trafficRoutingRef"] == "tr-demo"
        assert out["spec"]["disabled"] is False

    @pytest.mark.parametrize(("style", "extra"), [(None, True), ("canary", True), ("Canary", True),
                                                  ("partition", False), ("PARTITION", False), ("weird", True)])
    def test_enable_extra_workload_from_annotation(self, style, extra) -> None:
        doc = _alpha()
        if style is not None:
            doc["metadata"]["annotations"] = {STYLE: style}
        canary = convert(doc, B)["spec"]["strategy"]["canary"]
        assert canary.get("enableExtraWorkloadForCanary", False) is extra

    def test_copies_everything_else(self) -> None:
        doc = _alpha(
            failureThreshold="20%",
            patchPodTemplateMetadata={"labels": {"a": "b"}},
            disableGenerateCanaryService=True,
            trafficRoutings=[{"service": "s", "gracePeriodSeconds": 5, "ingress": {"classType": "mse", "name": "i"},
                              "gateway": {"httpRouteName": "h"},
                              "customNetworkRefs": [{"apiVersion": "v", "kind": "K", "name": "n"}]}],
        )
        doc["spec"]["strategy"]["paused"] = True
        doc["spec"]["disabled"] = True
        doc["spec"]["rolloutID"] = "dropped"
        doc["spec"]["strategy"]["canary"]["steps"] = [{
            "weight": 10, "replicas": "10%", "pause": {"duration": 7},
            "requestHeaderModifier": {"set": [{"name": "x", "value": "1"}], "remove": ["y"]},
            "matches": [{"headers": [{"type": "Exact", "name": "h", "value": "v"}]}],
        }]
        out = convert(doc, B)
        spec = out["spec"]
        assert spec["disabled"] is True and spec["strategy"]["paused"] is True
        assert "rolloutID" not in spec
        canary = spec["strategy"]["canary"]
        assert canary["failureThreshold"] == "20%"
        assert canary["patchPodTemplateMetadata"] == {"labels": {"a": "b"}}
        assert canary["disableGenerateCanaryService"] is True
        assert canary["trafficRoutings"] == doc["spec"]["strategy"]["canary"]["trafficRoutings"]
        assert canary["steps"] == [{
            "traffic": "10%", "replicas": "10%", "pause": {"duration": 7},
            "requestHeaderModifier": {"set": [{"name": "x", "value": "1"}], "remove": ["y"]},
            "matches": [{"headers": [{"type": "Exact", "name": "h", "value": "v"}]}],
        }]

    def test_status(self) -> None:
        doc = _alpha()
        doc["status"] = {
            "observedGeneration": 3, "phase": "Progressing", "message": "m",
            "conditions": [{"type": "Progressing", "status": "True", "reason": "InRolling", "message": "x",
                            "lastUpdateTime": "2024-01-01T00:00:00Z", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
            "canaryStatus": {"observedWorkloadGeneration": 2, "observedRolloutID": "id", "rolloutHash": "h",
                             "stableRevision": "s", "canaryRevision": "c", "podTemplateHash": "p",
                             "canaryReplicas": 2, "canaryReadyReplicas": 1, "currentStepIndex": 2,
                             "nextStepIndex": 3, "currentStepState": "StepPaused", "finalisingStep": "",
                             "message": "mm", "lastUpdateTime": "2024-01-01T00:00:00Z"},
        }
        status = convert(doc, B)["status"]
        assert status["canaryStatus"] == doc["status"]["canaryStatus"]
        assert status["conditions"] == doc["status"]["conditions"]
        assert (status["observedGeneration"], status["phase"], status["message"]) == (3, "Progressing", "m")
        # Top-level mirrors are not filled by conversion (always serialized as zero values).
        assert (status["currentStepIndex"], status["currentStepState"]) == (0, "")
        assert "blueGreenStatus" not in status

    @pytest.mark.parametrize("missing", ["workloadRef", "canary"])
    def test_missing_required_parts_are_rejected_cleanly(self, missing: str) -> None:
        doc = _alpha()
        if missing == "workloadRef":
            del doc["spec"]["objectRef"]["workloadRef"]
        else:
            del doc["spec"]["strategy"]["canary"]
        with pytest.raises(ConversionError, match=missing):
            convert(doc, B)


class TestRolloutToV1alpha1:
    def test_traffic_to_weight_and_matches_to_headers(self) -> None:
        doc = _beta({"canary": {"enableExtraWorkloadForCanary": True, "trafficRoutingRef": "tr", "steps": [
            {"traffic": "5%", "replicas": 1, "pause": {},
             "matches": [{"path": {"type": "Exact", "value": "/a"}, "headers": [{"name": "h", "value": "v"}],
                          "queryParams": [{"name": "q", "value": "1"}]},
                         {"path": {"value": "/only"}}]},
            {"traffic": "bad", "replicas": "100%"},
        ]}})
        out = convert(doc, A)
        assert out["metadata"]["annotations"] == {STYLE: "canary", TR: "tr"}
        steps = out["spec"]["strategy"]["canary"]["steps"]
        assert steps[0] == {"weight": 5, "replicas": 1, "pause": {},
                            "matches": [{"headers": [{"name": "h", "value": "v"}]}, {}]}
        assert steps[1]["weight"] == 0  # unparsable traffic → 0, like upstream
        assert out["spec"]["objectRef"] == {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                            "name": "d"}}

    def test_partition_style_annotation_overrides_existing(self) -> None:
        doc = _beta({"canary": {"steps": [{"replicas": 1}]}}, annotations={STYLE: "Canary", "keep": "me"})
        assert convert(doc, A)["metadata"]["annotations"] == {STYLE: "partition", "keep": "me"}

    def test_blue_green_yields_metadata_only(self) -> None:
        doc = _beta({"blueGreen": {"steps": [{"replicas": "50%", "traffic": "0%"}]}}, labels={"a": "b"})
        doc["status"] = {"phase": "Healthy", "currentStepIndex": 1, "currentStepState": "Completed",
                         "blueGreenStatus": {"podTemplateHash": "p"}}
        out = convert(doc, A)
        assert out["metadata"] == doc["metadata"]
        assert "status" not in out
        assert out["spec"] == {"objectRef": {}, "strategy": {}, "disabled": False}

    def test_status_drops_blue_green_and_top_level_mirrors(self) -> None:
        doc = _beta({"canary": {"steps": [{"replicas": 1}]}})
        doc["status"] = {"phase": "Healthy", "currentStepIndex": 1, "currentStepState": "Completed"}
        assert convert(doc, A)["status"] == {"phase": "Healthy"}


class TestRoundTrips:
    def test_alpha_beta_alpha_preserves_everything_expressible(self) -> None:
        doc = _alpha(failureThreshold=2, disableGenerateCanaryService=True,
                     patchPodTemplateMetadata={"annotations": {"a": "b"}},
                     trafficRoutings=[{"service": "s", "gracePeriodSeconds": 3, "ingress": {"name": "i"}}])
        doc["metadata"]["annotations"] = {STYLE: "partition", TR: "tr", "other": "x"}
        doc["spec"]["strategy"]["paused"] = True
        doc["spec"]["disabled"] = True
        doc["spec"]["strategy"]["canary"]["steps"] = [
            {"weight": 5, "replicas": 1, "pause": {}},
            {"weight": 20, "replicas": "20%", "pause": {"duration": 30},
             "matches": [{"headers": [{"type": "RegularExpression", "name": "u", "value": "a.*"}]}],
             "requestHeaderModifier": {"add": [{"name": "n", "value": "v"}]}},
        ]
        doc["status"] = {"observedGeneration": 1, "phase": "Healthy", "message": "ok"}
        back = convert(convert(doc, B), A)
        assert back == doc

    def test_beta_alpha_beta_for_canary(self, v1beta1_rollout: dict) -> None:
        v1beta1_rollout["spec"]["disabled"] = False
        back = convert(convert(v1beta1_rollout, A), B)
        canary = v1beta1_rollout["spec"]["strategy"]["canary"]
        assert back["spec"] == v1beta1_rollout["spec"] | {"strategy": {"canary": {
            **canary, "steps": [s | {"pause": s.get("pause", {})} for s in canary["steps"]],
        }}}
        assert back["metadata"]["annotations"] == {STYLE: "canary"}

    def test_unknown_fields_ride_along(self) -> None:
        doc = _alpha()
        doc["spec"]["future"] = 1
        doc["spec"]["strategy"]["canary"]["steps"][0]["futureStep"] = {"a": 1}
        back = convert(convert(doc, B), A)
        assert back["spec"]["future"] == 1
        assert back["spec"]["strategy"]["canary"]["steps"][0]["futureStep"] == {"a": 1}


class TestBatchRelease:
    def test_v1beta1_to_v1alpha1_and_back(self) -> None:
        doc = load_sample("batchrelease_v1beta1_spec.yaml")
        doc["status"] = {"phase": "Progressing", "message": "dropped in v1alpha1", "observedWorkloadReplicas": -1,
                         "collisionCount": 0, "canaryStatus": {"currentBatch": 1, "batchState": "Ready",
                                                               "noNeedUpdateReplicas": 0}}
        alpha = convert(doc, A)
        assert alpha["metadata"]["annotations"][STYLE] == "canary"
        assert alpha["spec"]["targetReference"] == {"workloadRef": doc["spec"]["workloadRef"]}
        assert alpha["spec"]["releasePlan"]["rollingStyle"] == "Canary"
        assert "message" not in alpha["status"]
        assert alpha["status"]["observedWorkloadReplicas"] == -1
        assert alpha["status"]["canaryStatus"] == {"currentBatch": 1, "batchState": "Ready",
                                                   "noNeedUpdateReplicas": 0}
        back = convert(alpha, B)
        assert back["spec"] == doc["spec"]
        assert back["status"] == {k: v for k, v in doc["status"].items() if k != "message"}

    @pytest.mark.parametrize(("annotation", "style"), [("partition", "Partition"), ("CANARY", "Canary"),
                                                       ("BlueGreen", "BlueGreen"), ("", None), (None, None)])
    def test_v1alpha1_rolling_style_comes_only_from_annotation(self, annotation, style) -> None:
        doc = {"apiVersion": A, "kind": "BatchRelease", "metadata": {"name": "b"},
               "spec": {"targetReference": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                            "name": "d"}},
                        "releasePlan": {"batches": [{"canaryReplicas": 1}], "rollingStyle": "Canary",
                                        "enableExtraWorkloadForCanary": True}}}
        if annotation is not None:
            doc["metadata"]["annotations"] = {STYLE: annotation}
        plan = convert(doc, B)["spec"]["releasePlan"]
        assert plan.get("rollingStyle") == style
        assert plan["enableExtraWorkloadForCanary"] is True

    def test_v1beta1_without_style_sets_empty_annotation(self) -> None:
        doc = load_sample("batchrelease_v1beta1_spec.yaml")
        del doc["spec"]["releasePlan"]["rollingStyle"]
        assert convert(doc, A)["metadata"]["annotations"][STYLE] == ""

    def test_missing_target_is_rejected(self) -> None:
        doc = {"apiVersion": A, "kind": "BatchRelease", "metadata": {"name": "b"}, "spec": {"targetReference": {}}}
        with pytest.raises(ConversionError, match="targetReference.workloadRef"):
            convert(doc, B)


class TestEntryPoint:
    def test_same_version_is_an_unchanged_copy(self, v1beta1_rollout: dict) -> None:
        v1beta1_rollout["spec"]["unknown"] = 1
        out = convert(v1beta1_rollout, B)
        assert out == v1beta1_rollout and out is not v1beta1_rollout

    @pytest.mark.parametrize(
        ("obj", "desired", "match"),
        [
            ({"apiVersion": A, "kind": "TrafficRouting"}, B, "unsupported kind"),
            ({"apiVersion": "rollouts.kruise.io/v2", "kind": "Rollout"}, A, "unsupported apiVersion"),
            ({"apiVersion": A, "kind": "Rollout"}, "apps/v1", "desired apiVersion"),
            ({"apiVersion": A, "kind": "Rollout", "spec": {"strategy": "x"}}, B, "cannot decode"),
            ([], B, "JSON object"),
        ],
    )
    def test_errors(self, obj, desired, match) -> None:
        with pytest.raises(ConversionError, match=match):
            convert(copy.deepcopy(obj), desired)

    @pytest.mark.parametrize("kind", ["Rollout", "BatchRelease"])
    def test_an_owned_source_lends_its_metadata_to_the_result_uncopied(self, kind: str, v1beta1_rollout: dict) -> None:
        """The webhook's path: metadata (managedFields and all) is moved, not decoded and encoded again."""
        doc = copy.deepcopy(v1beta1_rollout) if kind == "Rollout" else {
            "apiVersion": B, "kind": kind, "metadata": {"name": "b", "managedFields": [{"manager": "m"}]},
            "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                     "releasePlan": {"rollingStyle": "Partition"}}}
        expected = convert(doc, A)
        metadata = doc["metadata"]
        out = convert(doc, A, owned=True)
        assert out == expected and out["metadata"] is metadata
        assert list(out) == list(expected)  # same key order as the encoder's

    def test_an_owned_source_with_malformed_metadata_is_rejected_as_before(self) -> None:
        doc = {"apiVersion": A, "kind": "Rollout", "metadata": ["x"], "spec": {}}
        with pytest.raises(ConversionError, match="metadata"):
            convert(doc, B, owned=True)
