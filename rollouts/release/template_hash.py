"""Pod-template hash (rollout-lifecycle.md §3.2).

Kubernetes names a Deployment's ReplicaSets ``<deployment>-<hash>`` with ``ComputeHash``: FNV-32a
over a ``go-spew`` dump of the ``PodTemplateSpec`` (plus the collision count), printed in decimal
and mapped through ``SafeEncodeString``. The spew dump prints Go type names, nil pointers and every
struct field of the compiled-in API version, so it cannot be reproduced bit-for-bit from the JSON
wire form (and it changes across Kubernetes versions anyway).

We keep everything else identical — FNV-32a, the collision-count bytes (``PutUint32`` little-endian
into an 8-byte buffer, all 8 bytes hashed), decimal printing and the alphabet — but hash a canonical
JSON dump (sorted keys, compact). Consequences (documented in docs/release.md):

- the value is deterministic, of the same shape (≤10 chars, alphabet ``bcdfghjklmnpqrstvwxz2456789``)
  and used consistently as ``canaryRevision``, BatchRelease ``updateRevision``, new ReplicaSet names
  created by our advanced Deployment controller, and computed ``controller-revision-hash`` labels;
- it differs from the ``pod-template-hash`` the native controller put on ReplicaSets it created.
  Where a value must match existing pods, the reconciler reads the ``pod-template-hash`` label of
  the ReplicaSet whose template equals the Deployment's (``podTemplateHash``), never this function.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from rollouts.api import keys

#: Kubernetes ``rand.SafeEncodeString`` alphabet: no vowels (no words) and no confusable 0/1/3.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
POD_TEMPLATE_HASH_LABEL = keys.POD_TEMPLATE_HASH_LABEL

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def fnv32a(data: bytes, h: int = _FNV32_OFFSET) -> int:
    """FNV-1a, 32 bit (Go ``hash/fnv.New32a``)."""
    for byte in data:
        h ^= byte
        h = (h * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode_string(s: str) -> str:
    """Kubernetes ``SafeEncodeString``: map each character through the safe alphabet by code point."""
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in s)


def strip_hash_label(template: Mapping[str, Any]) -> dict[str, Any]:
    """Deep copy of a pod template without the ``pod-template-hash`` label (ReplicaSet → Deployment form)."""
    out = copy.deepcopy(dict(template))
    labels = (out.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return out


def compute_template_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """Deterministic ``ComputeHash`` analogue over the JSON form of a pod template (see module doc)."""
    payload = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    h = fnv32a(payload)
    if collision_count is not None:
        h = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\x00" * 4, h)
    return safe_encode_string(str(h))


def equal_ignore_hash(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """``EqualIgnoreHash``: templates equal once the ``pod-template-hash`` label is removed."""
    return strip_hash_label(a or {}) == strip_hash_label(b or {})
