"""Memory of the Ingress scripts' successful dry runs, so a traffic round runs its script once, not twice.

Before any Service or Ingress is touched, :meth:`LuaIngressProvider.initialize
<rollouts.trafficrouting.luaingress.LuaIngressProvider.initialize>` runs the class's script on the
stable Ingress's annotations (weight 0, no matches): a broken script then holds the release with the
reason in the status instead of failing halfway through a step. The Rollout controller calls
``initialize`` in every traffic round, so without memory each round ran the script twice (that dry
run, then the step's real run), and the dry run's answer only changes when its inputs do.

So a dry run that succeeded is remembered under a digest of everything the script is given or is:
the script's source, the stable Ingress's annotations and the canary Service's name (the weight,
matches and header modifier of a dry run are constant). Editing the script (a ConfigMap edit gives a
new source), the stable Ingress's annotations or the Service runs it again, and so does a restart
(the memory is per process). Failures are not remembered: the next round runs the script again, so
a failure caused by a passing limit (the 0.1 s wall-clock limit on a loaded machine) does not stick,
and a fixed ConfigMap resumes the release at once either way.

The guarantee is unchanged for scripts that are functions of their input (the sandbox gives them no
clock and no I/O): a remembered input produced annotations before, so it does again. A script that
fails at random (``math.random``) may pass a remembered dry run and fail in the step; that run also
fails before anything is written to the canary Ingress, as every step's run does (the dry run never
covered the step's own weight and matches either).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Final

from rollouts.lua import LuaScript

__all__ = ["DEFAULT_MAX_ENTRIES", "DryRunCache", "dry_run_key"]

#: Remembered inputs, least recently used dropped first. One entry per (script, Ingress, Service) in
#: release, a few hundred bytes each (the digest and the annotations): 4096 covers any cluster one
#: manager serves, and a key set larger than that only costs the dry runs it used to.
DEFAULT_MAX_ENTRIES: Final = 4096


def dry_run_key(script: LuaScript, stable_annotations: Mapping[str, str], canary_service: str) -> str:
    """The digest of a dry run's inputs: script source, stable annotations, canary Service."""
    text = json.dumps([script.source, dict(stable_annotations), canary_service], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class DryRunCache:
    """Keys of successful dry runs and the annotations they produced (LRU, bounded).

    Invariant: every key in ``_entries`` is :func:`dry_run_key` of inputs whose script run succeeded,
    and its value is that run's output; ``len(_entries) <= max_entries``. Single-threaded use (the
    event loop): no lock.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, dict[str, str]] = OrderedDict()

    def get(self, key: str) -> dict[str, str] | None:
        """A copy of the remembered output (the caller may change it), None when not remembered."""
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return dict(found)

    def put(self, key: str, annotations: Mapping[str, str]) -> None:
        self._entries[key] = dict(annotations)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
