"""Start-up check: can this process read every collection its informers will watch?

Why: without it a missing CRD or a missing RBAC grant shows up as a reflector retrying for ever
(404/403 every backoff period) and a manager that looks alive but never reconciles. client-go
managers fail the same way; controller-runtime at least dies on the missing kind. One LIST with
``limit=1`` per informer, before the manager starts, answers both questions in a few milliseconds
each, and the caller turns the answer into one line naming what is missing and where its fix lives.

Only definitive answers count: 404 (the API server does not serve the kind), 403 (not allowed) and
401 (bad credentials). An unreachable or overloaded API server is not a configuration error — the
informers retry it — so those answers are left to the normal start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Literal, Protocol

import attrs

from runtime.cache.informer import SharedInformer
from runtime.kube.errors import ApiError, Forbidden, NotFound, Unauthorized
from runtime.kube.resources import Resource

__all__ = ["Collection", "Problem", "check_collections", "collections_of"]


class _Lister(Protocol):
    def list_pages(self, res: Resource, namespace: str | None = None, *, label_selector: str | None = None,
                   field_selector: str | None = None, limit: int = 500, resource_version: str | None = None,
                   ) -> AsyncIterator[dict]: ...


@attrs.frozen
class Collection:
    """What one informer lists: the same selectors, so a grant limited to them is judged as the informer is."""

    resource: Resource
    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None


def collections_of(informers: Iterable[SharedInformer]) -> list[Collection]:
    return [Collection(i.resource, i.reflector.namespace, i.reflector.label_selector, i.reflector.field_selector)
            for i in informers]


@attrs.frozen
class Problem:
    resource: Resource
    namespace: str | None
    kind: Literal["missing", "forbidden", "unauthorized"]
    message: str

    @property
    def where(self) -> str:
        name = f"{self.resource.plural}.{self.resource.group}" if self.resource.group else self.resource.plural
        scope = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        return f"{name} ({self.resource.api_version}, {scope})"


async def check_collections(client: _Lister, collections: Iterable[Collection]) -> list[Problem]:
    """Every collection the process cannot list, with the API server's reason."""
    problems: list[Problem] = []
    for c in dict.fromkeys(collections):
        res, ns = c.resource, c.namespace
        try:
            async for _ in client.list_pages(res, ns, label_selector=c.label_selector,
                                             field_selector=c.field_selector, limit=1):
                break
        except NotFound as e:
            problems.append(Problem(res, ns, "missing", e.message))
        except Forbidden as e:
            problems.append(Problem(res, ns, "forbidden", e.message))
        except Unauthorized as e:
            problems.append(Problem(res, ns, "unauthorized", e.message))
        except ApiError:
            continue  # not a configuration error: the informers retry it
    return problems
