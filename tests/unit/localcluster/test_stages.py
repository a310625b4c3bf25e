"""The failing-pod kwok stages: one spelling of the mode key, guarded kwok stages, the tag patterns.

The stages themselves run on the real cluster (tests/integration/cluster/test_failing_pods.py); these
checks catch the spelling drift that would make two stages match one Pod (kwok then picks at random).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from localcluster import stages


def _repo_stages() -> list[dict[str, Any]]:
    docs = [d for f in stages.repo_stage_files() for d in yaml.safe_load_all(f.read_text()) if d]
    assert docs, "no stages under deploy/localcluster/stages"
    return docs


def _expressions(stage: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["jq"] for e in stage["spec"]["selector"]["matchExpressions"]]


def _mode_regex() -> re.Pattern[str]:
    """The regex inside FAILURE_MODE_KEY, in Python's spelling of a named group."""
    m = re.search(r'capture\("(.+?)"\)', stages.FAILURE_MODE_KEY)
    assert m, stages.FAILURE_MODE_KEY
    return re.compile(m.group(1).replace("(?<", "(?P<"))


def test_every_mode_selector_uses_the_one_key_and_known_modes() -> None:
    seen = 0
    for stage in _repo_stages():
        for e in _expressions(stage):
            if "capture(" in e["key"]:
                seen += 1
                assert e["key"] == stages.FAILURE_MODE_KEY, stage["metadata"]["name"]
                assert set(e["values"]) <= set(stages.FAILURE_MODES), e
    assert seen >= 3


def test_every_failure_stage_leaves_deleting_pods_to_pod_delete() -> None:
    for stage in _repo_stages():
        assert {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"} in _expressions(stage), stage


def test_every_failure_mode_has_a_stage() -> None:
    selected = {v for s in _repo_stages() for e in _expressions(s)
                if e["key"] == stages.FAILURE_MODE_KEY and e["operator"] == "In" for v in e["values"]}
    assert selected == set(stages.FAILURE_MODES)


def test_template_regexes_spell_the_tag_pattern_of_the_key() -> None:
    """Templates decide per container with sprig ``regexMatch``; their patterns must be the key's."""
    text = "".join(f.read_text() for f in stages.repo_stage_files())
    patterns = re.findall(r'(?:\$re :=|regexMatch) "([^"]+)"', text)
    assert len(patterns) >= 4
    for p in patterns:
        m = re.fullmatch(r":\(\[\^/:\]\*-\)\?\(?([a-z|-]+)\)?\$", p)
        assert m, p
        assert set(m.group(1).split("|")) <= set(stages.FAILURE_MODES), p


@pytest.mark.parametrize(("image", "mode"), [
    ("busybox:failed", "failed"), ("busybox:1.36-failed", "failed"), ("busybox:crash", "crash"),
    ("busybox:oom", "oom"), ("busybox:not-exists", "not-exists"), ("busybox:v2-not-exists", "not-exists"),
    ("busybox:1.28.3", None), ("busybox", None), ("busybox:failedx", None), ("busybox:crash-1", None),
    ("registry:5000/app-failed", None), ("registry:5000/app:crash", "crash"),
])
def test_the_tag_pattern(image: str, mode: str | None) -> None:
    m = _mode_regex().search(image)
    assert (m.group("mode") if m else None) == mode


def test_guard_appends_not_in_to_kwok_pod_ready_only(tmp_path: Path) -> None:
    ready = {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": "pod-ready"},
             "spec": {"selector": {"matchExpressions": [{"key": ".status.phase", "operator": "In",
                                                          "values": ["Pending"]}]}}}
    delete = {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": "pod-delete"},
              "spec": {"selector": {"matchExpressions": [{"key": ".metadata.deletionTimestamp",
                                                           "operator": "Exists"}]}}}
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "pod-ready.yaml").write_text(yaml.safe_dump(ready))
    (cache / "pod-delete.yaml").write_text(yaml.safe_dump(delete))

    out = stages.kwok_configs([cache / "pod-ready.yaml", cache / "pod-delete.yaml"], tmp_path / "run")

    assert out[1] == cache / "pod-delete.yaml"  # untouched, used in place
    assert out[2:] == stages.repo_stage_files()
    assert out[0] == tmp_path / "run" / "pod-ready.yaml"
    guarded = yaml.safe_load(out[0].read_text())
    exprs = guarded["spec"]["selector"]["matchExpressions"]
    assert exprs[0] == ready["spec"]["selector"]["matchExpressions"][0]
    assert exprs[1] == {"jq": {"key": stages.FAILURE_MODE_KEY, "operator": "NotIn",
                               "values": list(stages.FAILURE_MODES)}}
    assert yaml.safe_load((cache / "pod-ready.yaml").read_text()) == ready  # the cache keeps kwok's file
