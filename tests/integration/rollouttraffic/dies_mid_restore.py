"""The real manager with one injected fault: it dies (``os._exit``) right after its first write that
removes the revision key from a Service selector, i.e. between two writes of a traffic restore.
Only writes in ``KILL_NAMESPACE`` count: a Rollout of an earlier test, finalised while its namespace
is being deleted, restores its own Service and must not kill this manager before the test starts.

Why a launcher: "killed between two restore writes" must happen at exactly that point, which no
signal sent from outside hits reliably (the writes are milliseconds apart). Everything else is the
production entry point. Run as ``python -m tests.integration.rollouttraffic.dies_mid_restore <args>``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rollouts.cmd import manager
from runtime.kube.client import KubeClient

#: Exit status of the deliberate death (the test checks it, to tell it from a crash).
EXIT_CODE = 17

_patch = KubeClient.patch


async def _dies_after_restore(self: KubeClient, res: Any, name: str, body: Any, *args: Any, **kwargs: Any) -> dict:
    written = await _patch(self, res, name, body, *args, **kwargs)
    selector = ((body or {}).get("spec") or {}).get("selector") if isinstance(body, dict) else None
    namespace = args[0] if args else kwargs.get("namespace")
    mine = namespace == os.environ.get("KILL_NAMESPACE")
    if mine and res.plural == "services" and isinstance(selector, dict) and None in selector.values():
        os._exit(EXIT_CODE)
    return written


if __name__ == "__main__":
    KubeClient.patch = _dies_after_restore  # type: ignore[method-assign]
    sys.exit(manager.main())
