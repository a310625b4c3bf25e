"""A tiny in-memory Deployment/ReplicaSet world to drive the advanced-controller planner.

Pods become ready/available instantly unless ``new_pods_ready`` is False (then pods of the new RS
never become available), which lets tests check that surge/unavailable bounds hold per step.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from rollouts.release.deployment_partition import CreateReplicaSet, ScaleReplicaSet, plan_deployment_sync
from rollouts.release.deployment_strategy import (
    CONTROL_INFO_ANNOTATION,
    DEPLOYMENT_EXTRA_STATUS_ANNOTATION,
    DEPLOYMENT_STRATEGY_ANNOTATION,
)

NOW = datetime(2023, 4, 8, 7, 27, 24, tzinfo=UTC)


def template(version: str) -> dict:
    return {
        "metadata": {"labels": {"app": "demo"}},
        "spec": {
            "containers": [
                {"name": "busybox", "image": "busybox:1.28.3", "env": [{"name": "VERSION", "value": version}]}
            ]
        },
    }


class World:
    def __init__(self, replicas=10, max_surge="25%", max_unavailable="25%", new_pods_ready=True):
        self.new_pods_ready = new_pods_ready
        old_tpl = template("version-1")
        old_tpl["metadata"]["labels"]["pod-template-hash"] = "6c7764b765"
        self.rss = {
            "workload-demo-6c7764b765": {
                "metadata": {
                    "name": "workload-demo-6c7764b765",
                    "creationTimestamp": "2023-04-08T06:00:00Z",
                    "annotations": {
                        "deployment.kubernetes.io/revision": "1",
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                    },
                },
                "spec": {"replicas": replicas, "template": old_tpl},
                "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
            }
        }
        strategy = {
            "rollingStyle": "Partition",
            "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": max_surge},
            "partition": 0,
        }
        self.deployment = {
            "metadata": {
                "name": "workload-demo",
                "namespace": "default",
                "uid": "d-uid",
                "generation": 8,
                "annotations": {DEPLOYMENT_STRATEGY_ANNOTATION: json.dumps(strategy), CONTROL_INFO_ANNOTATION: "{}"},
            },
            "spec": {
                "replicas": replicas,
                "paused": True,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": {"app": "demo"}},
                "template": template("version-2"),
            },
            "status": {"observedGeneration": 8, "replicas": replicas, "updatedReplicas": 0},
        }
        self.max_total_seen = replicas
        self.min_available_seen = replicas

    def set_partition(self, partition):
        anns = self.deployment["metadata"]["annotations"]
        strategy = json.loads(anns[DEPLOYMENT_STRATEGY_ANNOTATION])
        strategy["partition"] = partition
        anns[DEPLOYMENT_STRATEGY_ANNOTATION] = json.dumps(strategy)

    def scale(self, replicas):
        self.deployment["spec"]["replicas"] = replicas

    def new_rs_name(self):
        return next(
            n
            for n, rs in self.rss.items()
            if rs["spec"]["template"]["spec"] == self.deployment["spec"]["template"]["spec"]
        )

    def old_rs(self):
        return self.rss["workload-demo-6c7764b765"]["spec"]["replicas"]

    def new_rs(self):
        return self.rss[self.new_rs_name()]["spec"]["replicas"]

    def _settle_pods(self):
        for rs in self.rss.values():
            n = rs["spec"]["replicas"]
            is_new = rs["spec"]["template"]["spec"] == self.deployment["spec"]["template"]["spec"]
            ready = n if (self.new_pods_ready or not is_new) else 0
            rs["status"] = {"replicas": n, "readyReplicas": ready, "availableReplicas": ready}

    def sync(self):
        plan = plan_deployment_sync(self.deployment, list(self.rss.values()), now=NOW)
        for action in plan.actions:
            if isinstance(action, CreateReplicaSet):
                body = copy.deepcopy(dict(action.body))
                body["metadata"]["creationTimestamp"] = "2023-04-08T07:00:00Z"
                body["status"] = {}
                self.rss[body["metadata"]["name"]] = body
            elif isinstance(action, ScaleReplicaSet):
                rs = self.rss[action.name]
                rs["spec"]["replicas"] = action.to_replicas
                rs["metadata"].setdefault("annotations", {}).update(action.annotations)
        total = sum(rs["spec"]["replicas"] for rs in self.rss.values())
        self.max_total_seen = max(self.max_total_seen, total)
        if plan.status is not None:
            self.deployment["status"] = dict(plan.status)
        if plan.extra_status is not None:
            self.deployment["metadata"]["annotations"][DEPLOYMENT_EXTRA_STATUS_ANNOTATION] = plan.extra_status
        self._settle_pods()
        available = sum(rs["status"]["availableReplicas"] for rs in self.rss.values())
        self.min_available_seen = min(self.min_available_seen, available)
        return plan

    def converge(self, max_rounds=1000):
        for _ in range(max_rounds):
            plan = self.sync()
            if not plan.actions:
                plan = self.sync()  # refresh status from settled pods
                return plan
        raise AssertionError("did not converge")
