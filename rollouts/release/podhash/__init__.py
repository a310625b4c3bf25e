"""Kubernetes' pod-template hash (``controller.ComputeHash``), bit-for-bit, in Python.

Upstream Kruise Rollouts reports a Deployment's ``canaryRevision`` (and names its ReplicaSets,
and labels pods' ``controller-revision-hash``) with the same function kube-controller-manager uses
for ``pod-template-hash``::

    hasher := fnv.New32a()
    spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true, SpewKeys: true}.
        Fprintf(hasher, "%#v", *template)
    if collisionCount != nil { hasher.Write(8 bytes: uint32(*collisionCount) little-endian, 0,0,0,0) }
    return rand.SafeEncodeString(fmt.Sprint(hasher.Sum32()))

Reproducing it means reproducing the Go value the template decodes to and go-spew's text for it:

- :mod:`.layout`: the Go types of ``v1.PodTemplateSpec``, generated from k8s.io/api (the pinned
  version is in ``layout.json``'s header; ``make hash-layout``);
- :mod:`.decode` (+ :mod:`.quantity`, :mod:`.gotime`): JSON → Go value as Kubernetes decodes it;
- :mod:`.spew`: go-spew's ``%#v`` text of that value.

Proof: ``tests/unit/release/test_podhash_vectors.py`` checks hundreds of (template, hash) pairs
computed by the real Go code (``make hash-vectors``). Limits: docs/release.md, "Revision hash
compatibility".

FNV-32a comes from ``fnv-hash-fast`` (a maintained C extension): a pure-Python loop costs ~0.7 µs
per byte, i.e. milliseconds for a real template's 3–10 kB dump; the C version is ~100 times faster.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from fnv_hash_fast import fnv1a_32

from rollouts.release.podhash.decode import DecodeError, check_handlers, decode
from rollouts.release.podhash.layout import Layout, load_layout
from rollouts.release.podhash.spew import sprint

__all__ = ["DecodeError", "SAFE_ALPHABET", "compute_hash", "fnv32a", "pod_template_dump", "safe_encode_string"]

#: ``rand.SafeEncodeString`` alphabet: no vowels (no words), no confusable 0/1/3.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"



def fnv32a(data: bytes) -> int:
    """FNV-1a, 32 bit (Go ``hash/fnv.New32a``)."""
    return int(fnv1a_32(data))


def safe_encode_string(s: str) -> str:
    """``rand.SafeEncodeString``: each character through the safe alphabet by code point."""
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in s)


@cache
def _layout() -> Layout:
    layout = load_layout()
    check_handlers(layout)
    return layout


def pod_template_dump(template: Mapping[str, Any], *, layout: Layout | None = None) -> str:
    """The go-spew text ComputeHash hashes for this JSON pod template (for debugging and tests).

    ``layout`` defaults to the committed one; tests pass others (another k8s.io/api version).
    """
    layout = layout or _layout()
    value = decode(layout.root, dict(template), "template")
    return sprint(layout.root, value)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from JSON "\ud800": Go decodes them to U+FFFD
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


def compute_hash(template: Mapping[str, Any], collision_count: int | None = None, *,
                 layout: Layout | None = None) -> str:
    """``controller.ComputeHash(template, collisionCount)`` for a JSON (dict) pod template.

    Raises :class:`DecodeError` (naming the field) for a template the API server would refuse.
    """
    data = _utf8(pod_template_dump(template, layout=layout))
    if collision_count is not None:  # binary.LittleEndian.PutUint32 into 8 zeroed bytes, all 8 hashed
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\x00" * 4
    return safe_encode_string(str(fnv32a(data)))
