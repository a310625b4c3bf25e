"""Label selectors (``metav1.LabelSelector``): matching in the cache and rendering for the server.

Controllers select workloads' Pods with the workload's ``spec.selector``; the same selector must be
evaluated against cached objects (``matches``) and sent as a ``labelSelector`` query parameter
(``to_query``). Semantics follow ``metav1.LabelSelectorAsSelector``: ``None`` selects nothing,
an empty selector ``{}`` selects everything, and all requirements are ANDed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["matches", "to_query", "InvalidSelector"]

_OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}


class InvalidSelector(ValueError):
    """The selector cannot be evaluated (unknown operator, missing values)."""


def _requirements(selector: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    reqs = [(k, "In", [v]) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), list(expr.get("values") or [])
        if op not in _OPERATORS:
            raise InvalidSelector(f"selector key {key!r}: unknown operator {op!r}; use one of {sorted(_OPERATORS)}")
        if op in ("In", "NotIn") and not values:
            raise InvalidSelector(f"selector key {key!r}: operator {op} needs at least one value")
        if op in ("Exists", "DoesNotExist") and values:
            raise InvalidSelector(f"selector key {key!r}: operator {op} takes no values")
        reqs.append((key, op, values))
    return reqs


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy ``selector`` (None selects nothing, {} selects everything)."""
    if selector is None:
        return False
    labels = labels or {}
    for key, op, values in _requirements(selector):
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def to_query(selector: Mapping[str, Any]) -> str:
    """The ``labelSelector`` query string for ``selector`` (e.g. ``app=x,tier in (a,b),!canary``)."""
    parts = []
    for key, op, values in _requirements(selector):
        if op == "In" and len(values) == 1:
            parts.append(f"{key}={values[0]}")
        elif op in ("In", "NotIn"):
            parts.append(f"{key} {'in' if op == 'In' else 'notin'} ({','.join(sorted(values))})")
        elif op == "Exists":
            parts.append(key)
        else:
            parts.append(f"!{key}")
    return ",".join(parts)
