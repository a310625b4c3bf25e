"""A pytest plugin recording every Rollout status the machine returns and every status patch the
reconciler computes, to compare two source trees byte for byte (issue 10: the status as the model).

Usage (from the root of each tree, the same venv, the same hypothesis seed):
    PYTHONPATH=/path/to/this/bench REC=/tmp/old.txt .venv/bin/python -m pytest -p status_recorder \\
        tests/unit/rollout tests/unit/controllers tests/unit/trafficrouting -q --hypothesis-seed=0
    ... REC=/tmp/new.txt ... ; cmp /tmp/old.txt /tmp/new.txt

Recorded, one JSON line each, under the test's node id: ``round`` (``reconcile_rollout``: status
with Go's zero values, actions, requeue), ``settle`` (the same for the last round, the earlier
rounds' events and the view's status), ``patch`` (the reconciler's merge patch: old, new, patch) and
``guard`` (the unsupported-feature guard's view status and halted status); for the BatchRelease,
``br-sync_status`` / ``br-execute`` / ``br-run`` (the status after the executor's entry points, the
result) and ``br-patch`` (the BatchRelease reconciler's merge patch). Add ``tests/unit/release`` and
``tests/unit/api`` for the BatchRelease side.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any, TextIO

_out: TextIO | None = None


def _dump(kind: str, obj: Any) -> None:
    assert _out is not None
    _out.write(kind + " " + json.dumps(obj, sort_keys=True, default=repr) + "\n")


def _status(out: Any) -> Any:
    from rollouts.controllers.rollout.controller import with_go_zero_values
    return None if out.status is None else with_go_zero_values(copy.deepcopy(dict(out.status)))


def pytest_configure(config: Any) -> None:
    global _out
    _out = open(os.environ["REC"], "w")  # noqa: SIM115 - open for the session
    from rollouts.controllers.rollout import controller
    from rollouts.rollout import machine, unsupported
    orig_round, orig_settle = machine.reconcile_rollout, machine.settle
    orig_patch, orig_guard = controller.merge_patch, unsupported.guard

    def recorded_round(*a: Any, **k: Any) -> Any:
        out = orig_round(*a, **k)
        _dump("round", [_status(out), [repr(x) for x in out.actions], out.requeue_after])
        return out

    def recorded_settle(*a: Any, **k: Any) -> Any:
        st = orig_settle(*a, **k)
        o = st.outcome
        _dump("settle", [_status(o), [repr(x) for x in o.actions], o.requeue_after, [repr(x) for x in st.events],
                         dict(st.view.get("status") or {})])
        return st

    def recorded_patch(old: Any, new: Any) -> Any:
        p = orig_patch(old, new)
        _dump("patch", [old, new, p])
        return p

    def recorded_guard(*a: Any, **k: Any) -> Any:
        r = orig_guard(*a, **k)
        _dump("guard", [dict(r[0].get("status") or {}), r[1]])
        return r

    _record_batch_release()
    machine.reconcile_rollout, machine.settle = recorded_round, recorded_settle
    controller.settle = recorded_settle
    controller.merge_patch = recorded_patch
    unsupported.guard = recorded_guard


def _record_batch_release() -> None:
    """The BatchRelease side: the status after each executor entry point (outermost calls only: the
    dict code's ``run`` calls ``execute`` through the module) and the reconciler's status patches."""
    import functools
    import inspect

    from rollouts.api.wire import WireModel, to_dict
    from rollouts.controllers.batchrelease import controller as brc
    from rollouts.controllers.batchrelease import executor as ex

    depth = [0]

    def wire(status: Any) -> Any:
        return to_dict(status) if isinstance(status, WireModel) else copy.deepcopy(status)

    def wrap(name: str) -> None:
        orig = getattr(ex, name)
        if inspect.iscoroutinefunction(orig):
            @functools.wraps(orig)
            async def arecorded(br: Any, status: Any, *a: Any, **k: Any) -> Any:
                depth[0] += 1
                try:
                    out = await orig(br, status, *a, **k)
                finally:
                    depth[0] -= 1
                if depth[0] == 0:
                    _dump("br-" + name, [wire(status), out])
                return out
            setattr(ex, name, arecorded)
        else:
            @functools.wraps(orig)
            def recorded(br: Any, status: Any, *a: Any, **k: Any) -> Any:
                out = orig(br, status, *a, **k)
                _dump("br-" + name, [wire(status), out])
                return out
            setattr(ex, name, recorded)

    for name in ("sync_status", "execute", "run"):
        wrap(name)
    orig_patch = brc.merge_patch

    def recorded_patch(old: Any, new: Any) -> Any:
        p = orig_patch(old, new)
        _dump("br-patch", [old, new, p])
        return p

    brc.merge_patch = recorded_patch


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    if _out is not None:
        _out.write("TEST " + nodeid + "\n")
