"""A small RFC 6902 JSON Patch *diff*: the operations that turn ``original`` into ``mutated``.

Mutating webhooks return a patch, not an object (the API server applies it to what it sent us).
Upstream computes it with gomodules/jsonpatch from the raw request bytes and the mutated object; we do
the same from the decoded request object, so handlers just edit a deep copy and return it.

Scope and choices:

* Objects are diffed key by key (``remove`` for vanished keys, ``add`` for new ones, recursion for
  shared keys whose values differ).
* Arrays of equal length are diffed element by element. When lengths differ the whole array is
  replaced with one ``replace`` op: correct, smaller code, and admission patches on lists are rare.
* Types are compared strictly (``1`` vs ``1.0`` vs ``True`` are different JSON values, so a change of
  type is a ``replace``).
* Keys are escaped per RFC 6901 (``~`` → ``~0`` first, then ``/`` → ``~1``), which matters for
  annotation keys such as ``rollouts.kruise.io/in-progressing``.
* The root itself is replaced with path ``""`` only when the two documents have different types.

Op order: removals before additions inside an object so that the patch never grows an object past
what it needs; the result is deterministic (sorted keys) so tests and logs are stable.
"""

from __future__ import annotations

from typing import Any

JSONPatch = list[dict[str, Any]]


def escape(token: str) -> str:
    """Escape one JSON Pointer reference token (RFC 6901 §3)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """Inverse of :func:`escape` (``~1`` first, then ``~0``, per RFC 6901 §4)."""
    return token.replace("~1", "/").replace("~0", "~")


def diff(original: Any, mutated: Any) -> JSONPatch:
    """Return the JSON Patch operations that transform ``original`` into ``mutated``."""
    ops: JSONPatch = []
    _diff(original, mutated, "", ops)
    return ops


def _same(a: Any, b: Any) -> bool:
    """Strict JSON equality: ``True != 1`` and ``1 != 1.0`` (they serialize differently)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _diff(a: Any, b: Any, path: str, ops: JSONPatch) -> None:
    if _same(a, b):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        _diff_objects(a, b, path, ops)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}/{i}", ops)
    else:
        ops.append({"op": "replace", "path": path, "value": b})


def _diff_objects(a: dict[str, Any], b: dict[str, Any], path: str, ops: JSONPatch) -> None:
    for key in sorted(a.keys() - b.keys()):
        ops.append({"op": "remove", "path": f"{path}/{escape(key)}"})
    for key in sorted(a.keys() & b.keys()):
        _diff(a[key], b[key], f"{path}/{escape(key)}", ops)
    for key in sorted(b.keys() - a.keys()):
        ops.append({"op": "add", "path": f"{path}/{escape(key)}", "value": b[key]})
