"""Which A/B ``matches`` the nginx Ingress provider can express — one answer for admission and controller.

ingress-nginx routes a canary by *one* header (``canary-by-header`` + ``-value`` or ``-pattern``)
and *one* cookie (``canary-by-cookie``, named by a header match called ``canary-by-cookie``) per
canary Ingress, and by nothing else. Upstream's ``nginx.lua`` silently drops what it cannot express
(paths, query parameters, the second header of a match) and lets the last of several header rules
win, so the release routes something other than what the user wrote. We refuse such matches instead:
the validating webhook at admission (``validation_extra.nginx_match_errors``) and the provider before
any write (``rollouts.trafficrouting.nginx.check_matches``), with the same field path and fix.

Pure and duck-typed over both API versions' match types (v1alpha1 matches have headers only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rollouts.api import keys

__all__ = ["REGULAR_EXPRESSION", "match_problem"]

REGULAR_EXPRESSION = "RegularExpression"


def match_problem(matches: Sequence[Any], *, where: str) -> tuple[str, str] | None:
    """``(field, what is wrong and the fix)`` for the first match nginx cannot express, else None.

    ``where`` is the step's field path (``spec.strategy.canary.steps[1]``).
    """
    headers, cookies = 0, 0
    for j, match in enumerate(matches):
        field = f"{where}.matches[{j}]"
        if getattr(match, "path", None) is not None or getattr(match, "query_params", None):
            return field, ("the nginx Ingress provider routes by one header or cookie only, not by path or "
                           "queryParams; remove path/queryParams or use a Gateway API HTTPRoute")
        if len(match.headers) != 1:
            return f"{field}.headers", ("the nginx Ingress provider needs exactly one header per match "
                                        f"(got {len(match.headers)}); split the conditions or keep one")
        header = match.headers[0]
        if header.name == keys.CANARY_BY_COOKIE_HEADER:
            cookies += 1
            if header.type == REGULAR_EXPRESSION:
                return f"{field}.headers[0].type", "nginx cookies cannot be matched by RegularExpression; use Exact"
        else:
            headers += 1
        if headers > 1 or cookies > 1:
            return field, ("nginx supports one header rule and one cookie rule per Ingress (canary-by-header, "
                           "canary-by-cookie); merge the matches into one, e.g. a RegularExpression header value")
    return None
