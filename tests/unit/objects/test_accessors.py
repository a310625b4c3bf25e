"""Foreign-object accessors (rollouts/objects): total on missing and null sections, exact on present ones."""

from __future__ import annotations

from rollouts.objects import pod as podobj
from rollouts.objects import workload as wl

STS = {"metadata": {"name": "s", "generation": 3},
       "spec": {"replicas": 5, "selector": {"matchLabels": {"app": "a"}},
                "updateStrategy": {"rollingUpdate": {"partition": 2}}, "template": {"spec": {}}},
       "status": {"updatedReplicas": 2, "updateRevision": "s-abc", "observedGeneration": 3}}


def test_present_fields_are_read() -> None:
    assert wl.spec_replicas(STS) == 5 and wl.generation(STS) == 3
    assert wl.status_int(STS, "updatedReplicas") == 2 and wl.status_str(STS, "updateRevision") == "s-abc"
    assert wl.match_labels(STS) == {"app": "a"} and wl.rolling_update(STS) == {"partition": 2}
    assert wl.template(STS) == {"spec": {}}


def test_missing_or_null_sections_read_as_empty() -> None:
    for obj in (None, {}, {"spec": None, "status": None, "metadata": None}):
        assert wl.spec_replicas(obj) == 1  # the API server's default
        assert wl.status_int(obj, "observedGeneration", -1) == -1
        assert wl.status_str(obj, "updateRevision") == ""
        assert wl.match_labels(obj) == {} and wl.rolling_update(obj) == {} and wl.template(obj) == {}
        assert wl.generation(obj) == 0
    assert wl.spec_replicas({"spec": {"replicas": None}}, default=7) == 7
    assert wl.spec_replicas({"spec": {"replicas": 0}}) == 0
    assert wl.status_str({"status": {"updateRevision": None}}, "updateRevision") == ""


def test_pod_accessors() -> None:
    pod = {"metadata": {"name": "p", "labels": {"x": "1"}, "deletionTimestamp": "t"}, "status": {"phase": "Pending"}}
    assert (podobj.name(pod), podobj.labels(pod), podobj.is_terminating(pod), podobj.phase(pod)) == (
        "p", {"x": "1"}, True, "Pending")
    bare: dict = {"metadata": None}
    assert (podobj.name(bare), podobj.labels(bare), podobj.is_terminating(bare), podobj.phase(bare)) == (
        "", {}, False, None)


def test_pod_readiness_is_the_ready_condition() -> None:
    ready = {"status": {"conditions": [{"type": "PodScheduled", "status": "True"},
                                       {"type": "Ready", "status": "True"}]}}
    assert podobj.is_ready(ready)
    assert not podobj.is_ready({"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
    assert not podobj.is_ready({"status": None}) and not podobj.is_ready({})
