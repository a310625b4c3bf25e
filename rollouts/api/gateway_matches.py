"""Which A/B ``matches`` the Gateway API HTTPRoute provider refuses — one answer for admission and controller.

An HTTPRoute can express every match the Rollout API has (path, headers, queryParams, Exact or
RegularExpression), so only one is refused: a match with none of them. The provider narrows each
stable rule's matches by the step match, so an empty step match would copy them unchanged and send
*every* request to the canary — surely not what a user meant by an A/B step. Used by the validating
webhook (``validation_extra.gateway_match_errors``) and by the provider before any write
(``rollouts.trafficrouting.gateway.check_matches``), with the same field path and fix.

Pure and duck-typed over both API versions' match types (v1alpha1 matches have headers only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["match_problem"]


def match_problem(matches: Sequence[Any], *, where: str) -> tuple[str, str] | None:
    """``(field, what is wrong and the fix)`` for the first empty match, else None (``where``: the step path)."""
    for j, match in enumerate(matches):
        if getattr(match, "path", None) is None and not match.headers and not getattr(match, "query_params", None):
            return f"{where}.matches[{j}]", ("a match without path, headers or queryParams would send every request "
                                             "to the canary; add a header or queryParam (or use traffic for a weight)")
    return None
