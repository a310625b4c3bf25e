"""Sharding flags and the shard's ownership checks (issue 14 item 4)."""

from __future__ import annotations

import asyncio

import pytest

from rollouts.cmd.manager import LEADER_ELECTION_ID, build_manager, parse_args
from rollouts.controllers.sharding import (
    ShardGate,
    lease_name,
    owns_batch_release,
    owns_own_labels,
    parse_selector,
    parse_shard,
)
from runtime.reconcile import Request, Result


class Store:
    def __init__(self, *objs):
        self.objs = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs}

    def get(self, name, namespace=None):
        return self.objs.get((namespace, name))


class Inf:
    def __init__(self, *objs):
        self.store = Store(*objs)


def o(name, ns="a", labels=None, owner=None):
    meta = {"name": name, "namespace": ns, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": "Rollout", "name": owner, "controller": True}]
    return {"metadata": meta}


def test_not_sharded_by_default_and_upstream_lease_kept():
    opts = parse_args([])
    assert opts.shard is None and lease_name(LEADER_ELECTION_ID, opts.shard) == "71ddec2c.kruise.io"


def test_shard_flags_parse_into_selector_namespaces_and_lease():
    opts = parse_args(["--shard-name", "a", "--shard-selector", "shard=a,tier in (x, y),!skip",
                       "--shard-namespaces", "n1,n2"])
    shard = opts.shard
    assert shard is not None and shard.namespaces == {"n1", "n2"}
    assert shard.label_query == "shard=a,tier in (x,y),!skip"
    assert lease_name(LEADER_ELECTION_ID, shard) == "71ddec2c.kruise.io-shard-a"
    assert shard.selects(o("r", "n1", {"shard": "a", "tier": "x"}))
    assert not shard.selects(o("r", "n3", {"shard": "a", "tier": "x"}))
    assert not shard.selects(o("r", "n1", {"shard": "a", "tier": "x", "skip": ""}))


@pytest.mark.parametrize(("argv", "message"), [
    (["--shard-selector", "shard=a"], "need --shard-name"),
    (["--shard-name", "a"], "say which Rollouts"),
    (["--shard-name", "A_b", "--shard-selector", "s=a"], "use a DNS label"),
    (["--shard-name", "a", "--shard-selector", "s=a=b"], "--shard-selector 's=a=b'"),
    (["--shard-name", "a", "--shard-selector", "s=a,"], "empty requirement"),
    (["--shard-name", "a", "--shard-namespaces", "ok,Bad"], "--shard-namespaces 'ok,Bad'"),
])
def test_bad_shard_flags_are_one_line_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in err


def test_selector_forms():
    assert parse_selector("a!=b,c,d==e")["matchExpressions"] == [
        {"key": "a", "operator": "NotIn", "values": ["b"]}, {"key": "c", "operator": "Exists"},
        {"key": "d", "operator": "In", "values": ["e"]}]
    with pytest.raises(ValueError, match="label key"):
        parse_selector("bad key=x")


def test_batch_release_is_owned_through_its_rollout_or_its_own_labels():
    shard = parse_shard("a", "shard=a", None)
    assert shard is not None
    rollouts = Inf(o("mine"))
    brs = Inf(o("mine", owner="mine"), o("theirs", owner="theirs"), o("free", labels={"shard": "a"}), o("other"))
    owns = owns_batch_release(shard, rollouts, brs)
    assert [owns(Request("a", n)) for n in ("mine", "theirs", "free", "other", "gone")] == [
        True, False, True, False, True]
    trs = Inf(o("t1", labels={"shard": "a"}), o("t2", labels={"shard": "b"}))
    assert [owns_own_labels(shard, trs)(Request("a", n)) for n in ("t1", "t2")] == [True, False]


def test_gate_skips_other_shards_requests():
    calls = []

    class Inner:
        async def reconcile(self, request):
            calls.append(request.name)
            return Result(requeue=True)

    gate = ShardGate(Inner(), lambda r: r.name == "mine")
    assert asyncio.run(gate.reconcile(Request("a", "theirs"))) == Result() and calls == []
    assert asyncio.run(gate.reconcile(Request("a", "mine"))) == Result(requeue=True) and calls == ["mine"]


def test_manager_uses_the_shard_lease():
    opts = parse_args(["--shard-name", "b", "--shard-namespaces", "x", "--no-leader-elect"])
    mgr, _ = build_manager(object(), opts)
    assert mgr.settings.leader_election_id == "71ddec2c.kruise.io-shard-b"
