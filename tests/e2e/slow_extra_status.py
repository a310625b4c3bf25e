"""The real manager with one injected fault: its advanced Deployment controller's writes of the
``rollouts.kruise.io/deployment-extra-status`` annotation reach the API server late.

Why a launcher: the fault is in our own controller's timing (issue 9.2: a step reported paused while
the annotation still counted the batch not ready, seen under load), which no API-server setting
produces on demand. Everything else is the production entry point, unchanged.
Run as ``python -m tests.e2e.slow_extra_status <manager args>``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from rollouts.api import keys
from rollouts.cmd import manager
from runtime.kube.client import KubeClient

#: How late each extra-status write is sent (long enough for any reader to act before it lands).
DELAY_SECONDS = float(os.environ.get("EXTRA_STATUS_DELAY_SECONDS", "1.5"))

_patch = KubeClient.patch


async def _late_extra_status(self: KubeClient, res: Any, name: str, body: Any, *args: Any, **kwargs: Any) -> dict:
    anns = ((body or {}).get("metadata") or {}).get("annotations") or {} if isinstance(body, dict) else {}
    if anns.get(keys.DEPLOYMENT_EXTRA_STATUS_ANNOTATION):
        await asyncio.sleep(DELAY_SECONDS)
    return await _patch(self, res, name, body, *args, **kwargs)


if __name__ == "__main__":
    KubeClient.patch = _late_extra_status  # type: ignore[method-assign]
    sys.exit(manager.main())
