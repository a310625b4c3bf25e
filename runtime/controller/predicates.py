"""Event filters applied before enqueueing (controller-runtime ``predicate`` package).

Predicates only filter *updates* by default (creates and deletes always pass) because a missed
create or delete would leave a controller unaware of an object, while a filtered update is by
definition one the controller declared irrelevant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = [
    "Predicate", "GenerationChanged", "LabelsChanged", "AnnotationsChanged", "ResourceVersionChanged",
    "Or", "FuncPredicate",
]

Obj = Mapping[str, Any]


def _meta(obj: Obj, field: str) -> Any:
    return (obj.get("metadata") or {}).get(field)


class Predicate:
    """Base predicate: lets everything through. Override what you want to filter."""

    def create(self, obj: Obj) -> bool:
        return True

    def update(self, old: Obj, new: Obj) -> bool:
        return True

    def delete(self, obj: Obj) -> bool:
        return True


class GenerationChanged(Predicate):
    """Spec changes only: ``metadata.generation`` moves on spec edits, not on status or metadata."""

    def update(self, old: Obj, new: Obj) -> bool:
        return _meta(old, "generation") != _meta(new, "generation")


class LabelsChanged(Predicate):
    def update(self, old: Obj, new: Obj) -> bool:
        return (_meta(old, "labels") or {}) != (_meta(new, "labels") or {})


class AnnotationsChanged(Predicate):
    def update(self, old: Obj, new: Obj) -> bool:
        return (_meta(old, "annotations") or {}) != (_meta(new, "annotations") or {})


class ResourceVersionChanged(Predicate):
    """Drops resync notifications (old and new are the same version)."""

    def update(self, old: Obj, new: Obj) -> bool:
        return _meta(old, "resourceVersion") != _meta(new, "resourceVersion")


@attrs.frozen
class Or(Predicate):
    """Passes if any of ``predicates`` passes (e.g. generation OR annotations changed)."""

    predicates: tuple[Predicate, ...]

    def create(self, obj: Obj) -> bool:
        return any(p.create(obj) for p in self.predicates)

    def update(self, old: Obj, new: Obj) -> bool:
        return any(p.update(old, new) for p in self.predicates)

    def delete(self, obj: Obj) -> bool:
        return any(p.delete(obj) for p in self.predicates)


@attrs.frozen
class FuncPredicate(Predicate):
    """A predicate from functions; missing ones pass."""

    create_fn: Callable[[Obj], bool] | None = None
    update_fn: Callable[[Obj, Obj], bool] | None = None
    delete_fn: Callable[[Obj], bool] | None = None

    def create(self, obj: Obj) -> bool:
        return self.create_fn(obj) if self.create_fn else True

    def update(self, old: Obj, new: Obj) -> bool:
        return self.update_fn(old, new) if self.update_fn else True

    def delete(self, obj: Obj) -> bool:
        return self.delete_fn(obj) if self.delete_fn else True
