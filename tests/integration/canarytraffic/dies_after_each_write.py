"""The real manager with one injected fault: it dies (``os._exit``) right after the first write of
each *kind* of write it has not died after before, in one namespace.

A kind is the verb and the collection (``POST deployments``, ``DELETE ingresses``,
``PATCH rollouts/status``); a canary Ingress patch also counts its ``canary-weight``, so every weight
is a kind of its own. The kinds already used are kept, one a line, in the file named by
``KILL_STATE``; ``KILL_NAMESPACE`` limits the fault to the test's namespace (the start-up writes of
webhook configurations and CRDs are left alone). Restarted after each death, the manager dies once
after every observable transition of a release (BatchRelease, canary Deployment, canary Service,
canary Ingress, each weight, each finalising write) and finally runs it to the end.

"Right after" is after the API server answered that write; another write the manager had in flight
concurrently (the Rollout and BatchRelease controllers share the process) may land too, unrecorded.
So a kind is guaranteed a death after its *first* occurrence only if no concurrent write shares it;
the test asserts the kinds that matter were each died after.

Why a launcher: the writes of one transition are milliseconds apart, which no signal sent from
outside hits reliably. Run as ``python -m tests.integration.canarytraffic.dies_after_each_write``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from rollouts.cmd import manager
from runtime.kube.client import KubeClient

#: Exit status of the deliberate death (the test checks it, to tell it from a crash).
EXIT_CODE = 17
WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
#: Not a transition of the release: the manager reports through Events.
IGNORED = ("events",)

_json = KubeClient._json
#: The kinds of write this manager's predecessors died after (read once at start).
DIED_AFTER: set[str] = set()


def shape(body: Any) -> str:
    """The fields a patch writes, two levels deep, ``-`` marking a removal: ``spec.paused metadata.finalizers-``."""
    if not isinstance(body, dict):
        return "?"
    out = []
    for key, value in body.items():
        for sub, leaf in (value.items() if isinstance(value, dict) else [("", value)]):
            removes = leaf is None or (isinstance(leaf, dict) and None in leaf.values())
            out.append(f"{key}.{sub}".rstrip(".") + ("-" if removes else ""))
    return " ".join(sorted(out))


def kind_of(method: str, path: str, body: Any) -> str | None:
    """``"PATCH ingresses weight=20"``-like name of a write in KILL_NAMESPACE, else None.

    Patches of Deployments, Services and BatchReleases also name what they write and, for
    Deployments, whether the canary (``<name>-xxxxx``) or the stable one: pausing the stable
    Deployment, scaling the canary, removing its finalizer, pinning and restoring a selector are
    transitions of their own.
    """
    ns = re.escape(os.environ["KILL_NAMESPACE"])
    match = re.search(rf"/namespaces/{ns}/([a-z]+)(?:/([^/]+)(?:/([a-z]+))?)?$", path.split("?")[0])
    if method == "GET" or not match or match.group(1) in IGNORED:
        return None
    plural, name, sub = match.groups()
    kind = f"{method} {plural}" + (f"/{sub}" if sub else "")
    if method == "PATCH" and not sub and plural in ("deployments", "services", "batchreleases"):
        if plural == "deployments":
            kind += " canary" if re.search(r"-[a-z0-9]{5}$", name or "") else " stable"
        kind += " " + shape(body)
    annotations = ((body or {}).get("metadata") or {}).get("annotations") if isinstance(body, dict) else None
    if plural == "ingresses" and isinstance(annotations, dict) and WEIGHT in annotations:
        kind += f" weight={annotations[WEIGHT]}"
    return kind


async def _dies_after_new_kind(self: KubeClient, method: str, path: str, **kw: Any) -> Any:
    result = await _json(self, method, path, **kw)
    kind = kind_of(method, path, kw.get("body"))
    if kind and kind not in DIED_AFTER:
        fd = os.open(os.environ["KILL_STATE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, (kind + "\n").encode())
        os._exit(EXIT_CODE)
    return result


if __name__ == "__main__":
    state = Path(os.environ["KILL_STATE"])
    DIED_AFTER.update(state.read_text().splitlines() if state.exists() else [])
    KubeClient._json = _dies_after_new_kind  # type: ignore[method-assign]
    sys.exit(manager.main())
