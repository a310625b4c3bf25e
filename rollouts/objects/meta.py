"""ObjectMeta (meta/v1), the one section every object shares, read from the API server's dicts.

Our own kinds keep ``metadata`` as the raw ObjectMeta dict inside their models too
(``rollouts.api.common.KubeObject``), so these accessors serve any object, foreign or not, whose
model is not at hand (an admission request's object before it is decoded, a listed ReplicaSet).
A missing or ``null`` section reads as empty: one shared, read-only empty mapping, so a caller that
tried to fill it in (instead of building its own dict) fails at once rather than leaking its keys
into every other object's absent section. (``rollouts.controllers.common`` had its own copies of
``meta``/``labels``/``annotations_of``/``is_deleting`` returning fresh dicts; they are these now.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

Obj = Mapping[str, Any]
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def metadata(obj: Obj | None) -> Obj:
    return (obj or _EMPTY).get("metadata") or _EMPTY


def name(obj: Obj | None) -> str:
    return str(metadata(obj).get("name") or "")


def namespace(obj: Obj | None) -> str:
    return str(metadata(obj).get("namespace") or "")


def uid(obj: Obj | None) -> str:
    return str(metadata(obj).get("uid") or "")


def labels(obj: Obj | None) -> Mapping[str, str]:
    return metadata(obj).get("labels") or _EMPTY


def annotations_of(obj: Obj | None) -> Mapping[str, str]:
    return metadata(obj).get("annotations") or _EMPTY


def generation(obj: Obj | None) -> int:
    return int(metadata(obj).get("generation", 0))


def is_deleting(obj: Obj | None) -> bool:
    """``metadata.deletionTimestamp`` is set."""
    return bool(metadata(obj).get("deletionTimestamp"))


def creation_timestamp(obj: Obj | None) -> str:
    return str(metadata(obj).get("creationTimestamp") or "")


def finalizers(obj: Obj | None) -> Sequence[str]:
    return metadata(obj).get("finalizers") or ()


def owner_references(obj: Obj | None) -> Sequence[Obj]:
    return metadata(obj).get("ownerReferences") or ()


def is_controlled_by(obj: Obj | None, owner_uid: str | None) -> bool:
    """An owner reference with ``controller: true`` points at ``owner_uid``."""
    return any(r.get("controller") and r.get("uid") == owner_uid for r in owner_references(obj))


__all__ = ["annotations_of", "creation_timestamp", "generation", "is_controlled_by", "is_deleting", "labels",
           "metadata", "name", "namespace", "owner_references", "uid"]


def json_object(raw: str | None) -> dict[str, Any] | None:
    """``raw`` parsed as a JSON object; None when empty, malformed or not an object.

    Why None and not an error: the annotations read this way are saved settings (the original
    strategy); upstream ignores a malformed one, and so do we, rather than block the release on it."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def json_object_annotation(obj: Obj | None, key: str) -> dict[str, Any] | None:
    """The annotation ``key`` as :func:`json_object` reads it."""
    return json_object(annotations_of(obj).get(key))
