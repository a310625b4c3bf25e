"""The kwok Stages the local cluster runs: kwok's own, guarded, plus ours that keep Pods failing.

Why: kwok makes every scheduled Pod Ready whatever its image, so no failure path (a batch that never
gets ready, a crash loop, an image that cannot be pulled) could be tested on the local cluster. The
stages in ``stages/*.yaml`` (repository files, loaded as they are) pick Pods by the *failure mode* of
their container images — the last part of the tag, ``:MODE`` or ``:ANYTHING-MODE`` — and keep them
failing; ``docs/local-cluster.md`` ("Failing pods") has the table of modes.

Why a guard: when several stages match a Pod, kwok picks one at random (weighted). kwok's shipped
``pod-ready`` and ``pod-complete`` would also match a failing Pod, so before handing them to kwok we
append one selector expression, ``FAILURE_MODE_KEY NotIn FAILURE_MODES``, and write the guarded copies
into the cluster's run directory. The binary cache keeps kwok's files untouched (its key stays the
kwok version), and editing our stages needs no rebuild: they are read from the repository at start.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

#: Failure modes, as they end an image tag (``busybox:crash``, ``busybox:1.36-crash``).
FAILURE_MODES = ("failed", "crash", "oom", "not-exists")

#: jq run by kwok on a Pod: one failure mode (or ``"none"``) per container. Only the *tag* counts
#: (no ``/`` or ``:`` after the last ``:``), so ``registry:5000/app-failed`` is a normal image. The
#: YAML files spell it identically; a unit test checks they do.
FAILURE_MODE_KEY = (
    '.spec.containers[].image | ((capture(":([^/:]*-)?(?<mode>failed|crash|oom|not-exists)$") | .mode) // "none")'
)

#: kwok's shipped stages that would race with ours for a failing Pod (by ``metadata.name``).
GUARDED_STAGES = ("pod-ready", "pod-complete")

#: Our stage files, shipped in the package beside this module.
REPO_STAGE_DIR = Path(__file__).parent / "stages"


def repo_stage_files() -> list[Path]:
    """Our stage files in a stable order (kwok takes one ``--config`` per file)."""
    return sorted(REPO_STAGE_DIR.glob("*.yaml"))


def failure_guard() -> dict[str, Any]:
    """The selector expression that keeps a stage off Pods with a failure-mode image."""
    return {"jq": {"key": FAILURE_MODE_KEY, "operator": "NotIn", "values": list(FAILURE_MODES)}}


def guard(stage: dict[str, Any]) -> dict[str, Any]:
    """``stage`` with :func:`failure_guard` appended to its matchExpressions if it is a guarded one."""
    if (stage.get("metadata") or {}).get("name") not in GUARDED_STAGES:
        return stage
    out = copy.deepcopy(stage)
    selector = out["spec"].setdefault("selector", {})
    selector.setdefault("matchExpressions", []).append(failure_guard())
    return out


def kwok_configs(shipped: Iterable[Path], dest: Path) -> list[Path]:
    """The ``--config`` files for kwok: ``shipped`` (guarded copies written to ``dest`` where
    needed, the cached file itself otherwise), then our repository stages."""
    out: list[Path] = []
    for path in shipped:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        guarded = [guard(d) for d in docs]
        if guarded == docs:
            out.append(path)
            continue
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / path.name
        target.write_text(yaml.safe_dump_all(guarded, sort_keys=False))
        out.append(target)
    return out + repo_stage_files()
