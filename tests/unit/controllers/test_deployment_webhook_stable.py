"""The Deployment webhook's stable-ReplicaSet choice and traffic-routing guard (workload-webhook.md §2.2 4–5).

Pinned because removing the revision sort or the guard left every unit test green (issue 9, item 10):
the earlier tests only ever list one ReplicaSet.
"""

from __future__ import annotations

import copy
from typing import Any

from webhooks.workload.deployment import stable_replica_set

from .test_deployment_webhook import DEPLOYMENT, ROLLOUT, STABLE_RS, run, v2

STABLE_LABEL = "rollouts.kruise.io/stable-revision"


def rs(hash_: str, revision: str | None, *, version: str, created: str = "2024-01-01T00:00:00Z",
       replicas: int = 5) -> dict[str, Any]:
    """A ReplicaSet of the Deployment whose template runs ``version`` (the env value)."""
    out = copy.deepcopy(STABLE_RS)
    meta = out["metadata"]
    meta.update(name=f"workload-demo-{hash_}", labels={"pod-template-hash": hash_}, creationTimestamp=created)
    meta["annotations"] = {} if revision is None else {"deployment.kubernetes.io/revision": revision}
    out["spec"]["replicas"] = replicas
    out["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = hash_
    out["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = version
    return out


def with_version(obj: dict, version: str) -> dict:
    new = copy.deepcopy(obj)
    new["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = version
    return new


TRAFFIC_ROLLOUT = copy.deepcopy(ROLLOUT)
TRAFFIC_ROLLOUT["spec"]["strategy"]["canary"]["trafficRoutings"] = [{"service": "svc", "ingress": {"name": "ing"}}]


async def test_stable_is_the_oldest_revision_not_listed_first() -> None:
    """Mid-rollout Deployment (two active RSs) updated again: the stable one is the lowest revision."""
    rss = [rs("bbb", "2", version="version-1"), rs("ccc", "10", version="version-0"), rs("aaa", "1", version="v-old")]
    out = await run(DEPLOYMENT, v2(DEPLOYMENT), rss=rss)
    assert out is not None and out["metadata"]["labels"][STABLE_LABEL] == "aaa"


async def test_revision_order_is_numeric_not_lexical() -> None:
    rss = [rs("ten", "10", version="version-0"), rs("nine", "9", version="version-1")]
    out = await run(DEPLOYMENT, v2(DEPLOYMENT), rss=rss)
    assert out is not None and out["metadata"]["labels"][STABLE_LABEL] == "nine"


async def test_a_replica_set_running_the_new_template_is_not_stable() -> None:
    """Rolling forward to a revision an old RS already runs: skip that RS, take the next oldest."""
    rss = [rs("old", "1", version="version-2"), rs("cur", "2", version="version-1")]
    out = await run(DEPLOYMENT, v2(DEPLOYMENT), rss=rss)
    assert out is not None and out["metadata"]["labels"][STABLE_LABEL] == "cur"


def test_unparsable_revisions_sort_first_and_ties_go_by_creation_time() -> None:
    template = v2(DEPLOYMENT)["spec"]["template"]
    later = rs("later", "3", version="version-1", created="2024-01-02T00:00:00Z")
    earlier = rs("earlier", "3", version="version-1", created="2024-01-01T00:00:00Z")
    assert stable_replica_set([later, earlier], template)["metadata"]["name"] == "workload-demo-earlier"
    odd = rs("odd", "x", version="version-1")
    assert stable_replica_set([earlier, odd], template)["metadata"]["name"] == "workload-demo-odd"
    assert stable_replica_set([rs("same", "1", version="version-2")], template) is None


async def test_traffic_routing_leaves_a_deployment_that_is_mid_rollout_alone() -> None:
    two = [rs("aaa", "1", version="version-0"), rs("bbb", "2", version="version-1")]
    assert await run(DEPLOYMENT, v2(DEPLOYMENT), rollouts=[TRAFFIC_ROLLOUT], rss=two) is None
    # one active RS (a scaled-to-0 one does not count): the release is frozen as usual
    one = [rs("aaa", "1", version="version-0", replicas=0), rs("bbb", "2", version="version-1")]
    out = await run(DEPLOYMENT, v2(DEPLOYMENT), rollouts=[TRAFFIC_ROLLOUT], rss=one)
    assert out is not None and out["spec"]["paused"] is True and out["metadata"]["labels"][STABLE_LABEL] == "bbb"
    # without traffic routing several active RSs are fine
    out = await run(DEPLOYMENT, v2(DEPLOYMENT), rss=two)
    assert out is not None and out["spec"]["paused"] is True
