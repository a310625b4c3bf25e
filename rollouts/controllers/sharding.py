"""Sharding Rollouts across controller replica sets (issue 14 item 4): which objects a shard owns.

A shard is named (``--shard-name``) and selects its Rollouts by a label selector on the Rollouts
(``--shard-selector``, sent to the API server) and/or a set of namespaces (``--shard-namespaces``,
filtered in the informer: no server selector says "namespace in (a,b)"). Each shard elects its own
leader on its own Lease, so shards run side by side and each has standbys.

The cut: the controllers' Rollout informer is the shard's, so the Rollout controller never sees
another shard's Rollouts, and every workload/Pod event maps to Rollouts through that store (the
Rollout and RolloutHistory controllers are keyed by Rollout and do nothing for one not cached). The
controllers keyed by something else (BatchRelease, Deployment, DaemonSet, TrafficRouting) get a
:class:`ShardGate` in front of their reconciler that asks "is this mine?" — a BatchRelease by the
Rollout that controls it, a workload by the Rollout that targets it (the Rollout webhook forbids two
Rollouts on one workload, so two shards never both act on one Deployment), and objects without a
Rollout (a stand-alone BatchRelease, a TrafficRouting) by the shard's own selector and namespaces.
The webhooks are not sharded: every replica of every shard serves admission from an unfiltered
Rollout cache (the "one Rollout per workload" check must see all shards).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from rollouts.objects.meta import metadata as meta
from runtime import labels
from runtime.reconcile import Reconciler, Request, Result

#: A shard name is a DNS label: it becomes part of the Lease name.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME_LENGTH = 40
"""Leaves room for the Lease prefix within the 253-character object-name limit, and keeps logs short."""
_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")


def lease_name(base: str, shard: Shard | None) -> str:
    """``base`` unsharded (upstream's ``71ddec2c.kruise.io``), ``<base>-shard-<name>`` for a shard."""
    return base if shard is None else f"{base}-shard-{shard.name}"


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses (``a=b,c in (d,e)`` → two requirements)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def _requirement(req: str) -> dict[str, Any]:
    if m := _SET.match(req):
        values = [v.strip() for v in m.group(3).split(",")]
        key, op = m.group(1), "In" if m.group(2) == "in" else "NotIn"
    elif "!=" in req:
        key, _, value = (s.strip() for s in req.partition("!="))
        op, values = "NotIn", [value]
    elif "=" in req:
        key, _, value = (s.strip() for s in req.replace("==", "=", 1).partition("="))
        op, values = "In", [value]
    elif req.startswith("!"):
        key, op, values = req[1:].strip(), "DoesNotExist", []
    else:
        key, op, values = req, "Exists", []
    if not _KEY.match(key):
        raise ValueError(f"label key {key!r} is not a valid label key")
    for v in values:
        if not _VALUE.match(v):
            raise ValueError(f"label value {v!r} of key {key!r} is not a valid label value")
    return {"key": key, "operator": op, "values": values} if values else {"key": key, "operator": op}


def parse_selector(text: str) -> dict[str, Any]:
    """A ``kubectl -l`` style selector string as a ``metav1.LabelSelector`` (``matchExpressions``).

    Raises ValueError naming the bad requirement."""
    if not text.strip():
        raise ValueError("the selector is empty")
    exprs = []
    for req in _split(text):
        if not req:
            raise ValueError(f"empty requirement in {text!r}")
        exprs.append(_requirement(req))
    return {"matchExpressions": exprs}


@attrs.frozen(kw_only=True)
class Shard:
    """One shard's identity and the Rollouts it owns (a Rollout must match every part given)."""

    name: str
    """``--shard-name``: part of the Lease name and of the logs."""
    selector: Mapping[str, Any] | None = None
    """``--shard-selector`` as a LabelSelector (None: any labels)."""
    namespaces: frozenset[str] = frozenset()
    """``--shard-namespaces`` (empty: every namespace)."""

    @property
    def label_query(self) -> str | None:
        """The server-side ``labelSelector`` of the shard's Rollout informer."""
        return labels.to_query(self.selector) if self.selector is not None else None

    def in_namespaces(self, obj: Mapping[str, Any]) -> bool:
        """The Rollout informer's client-side filter (the namespace set)."""
        return not self.namespaces or meta(obj).get("namespace") in self.namespaces

    def selects(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj``'s own labels and namespace put it in this shard."""
        if not self.in_namespaces(obj):
            return False
        return self.selector is None or labels.matches(self.selector, meta(obj).get("labels"))


def parse_shard(name: str | None, selector: str | None, namespaces: str | None) -> Shard | None:
    """The shard of the ``--shard-*`` flags (None: not sharded). Raises ValueError with the fix."""
    if name is None:
        if selector is not None or namespaces is not None:
            raise ValueError("--shard-selector/--shard-namespaces need --shard-name NAME (the shard's Lease name)")
        return None
    if not _NAME.match(name) or len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"--shard-name {name!r}: use a DNS label (lower-case letters, digits, '-'; at most "
                         f"{MAX_NAME_LENGTH} characters)")
    if selector is None and namespaces is None:
        raise ValueError(f"--shard-name {name}: say which Rollouts it owns with --shard-selector (e.g. shard={name}) "
                         "and/or --shard-namespaces a,b")
    sel = None
    if selector is not None:
        try:
            sel = parse_selector(selector)
        except ValueError as e:
            raise ValueError(f"--shard-selector {selector!r}: {e}; use a kubectl -l selector, e.g. "
                             "'shard=a' or 'team in (x,y)'") from None
    ns: frozenset[str] = frozenset()
    if namespaces is not None:
        items = [n.strip() for n in namespaces.split(",")]
        bad = [n for n in items if not _NAME.match(n)]
        if bad or not items:
            raise ValueError(f"--shard-namespaces {namespaces!r}: {bad} are not namespace names; use a "
                             "comma-separated list, e.g. team-a,team-b")
        ns = frozenset(items)
    return Shard(name=name, selector=sel, namespaces=ns)


Owns = Callable[[Request], bool]


class ShardGate:
    """A reconciler that passes only this shard's requests to ``inner`` (others: done, untouched).

    Checked at reconcile time, not at enqueue: the mapping functions of the watches stay unchanged,
    and the answer uses the caches as they are when the work happens."""

    def __init__(self, inner: Reconciler, owns: Owns) -> None:
        self.inner = inner
        self.owns = owns

    async def reconcile(self, request: Request) -> Result:
        if not self.owns(request):
            return Result()
        return await self.inner.reconcile(request)


def gated(inner: Reconciler, shard: Shard | None, owns: Callable[[Shard], Owns]) -> Reconciler:
    """``inner`` unchanged when not sharded, else behind a :class:`ShardGate` asking ``owns(shard)``."""
    return inner if shard is None else ShardGate(inner, owns(shard))


def rollout_owner(obj: Mapping[str, Any]) -> str | None:
    """The name of the Rollout controlling ``obj`` (a BatchRelease), if any."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "Rollout":
            return str(ref.get("name"))
    return None


def owns_batch_release(shard: Shard, rollouts: Any, brs: Any) -> Owns:
    """A BatchRelease is the shard's when its Rollout is in the shard's store; one without a Rollout
    owner by its own labels/namespace. A vanished one passes (the reconciler's not-found path)."""

    def owns(req: Request) -> bool:
        br = brs.store.get(req.name, req.namespace)
        if br is None:
            return True
        owner = rollout_owner(br)
        if owner is None:
            return shard.selects(br)
        return rollouts.store.get(owner, req.namespace) is not None

    return owns


def owns_workload(workloads: Any, rollouts_for: Callable[[Mapping[str, Any]], Sequence[Any]]) -> Owns:
    """A workload is the shard's when one of the shard's Rollouts targets it (``rollouts_for``)."""

    def owns(req: Request) -> bool:
        obj = workloads.store.get(req.name, req.namespace)
        return obj is not None and bool(rollouts_for(obj))

    return owns


def owns_own_labels(shard: Shard, informer: Any) -> Owns:
    """Objects not tied to a Rollout (TrafficRouting): by their own labels and namespace."""

    def owns(req: Request) -> bool:
        obj = informer.store.get(req.name, req.namespace)
        return obj is None or shard.selects(obj)

    return owns

