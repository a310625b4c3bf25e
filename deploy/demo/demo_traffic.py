"""``make demo SCENARIO=canary``, ``ab`` and ``bluegreen``: parts 2 and 3 of the seed walkthrough, and
the seed's blue-green key feature.

* **canary** (金丝雀发布策略): the seed's echoserver Deployment, Service and nginx Ingress and its
  canary Rollout (an extra canary Deployment; 5% of the traffic and 1 pod with manual approval, then
  40/60/80/100% on timed pauses). Prints the seed's views at the seed's moments.
* **ab** (A/B 测试): the seed's workload-demo with a Service ``service-demo`` and an Ingress
  ``ingress-demo``; first the seed's A/B Rollout *verbatim*, which the webhook refuses naming its three
  mistakes, then the corrected one: step 1 routes header ``user-agent: pc`` to 1 new pod, steps 2 and
  3 drop the header rule and update 50% and 100% in place.
* **bluegreen**: the same echoserver objects released by a v1beta1 blue-green Rollout (steps
  ``{50%,0%}``, ``{100%,0%}``, ``{100%,50%}``, ``{100%,100%}``, each approved): the new pods come up
  beside the old ones, then the traffic moves; at the end the old pods go (docs/bluegreen.md).

Every stage waits for what the seed shows, with a timeout: when a stage does not come (or the
Rollout is refused), the demo stops with the stage, the Rollout's status and a non-zero exit instead
of hanging. Called by ``run.py`` (which owns the cluster and manager start-up).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shell import DemoShell

HERE = Path(__file__).resolve().parent
P = "nginx.ingress.kubernetes.io/"
CANARY = P + "canary"
WEIGHT = P + "canary-weight"
BY_HEADER = "nginx.ingress.kubernetes.io/canary-by-header"
BY_HEADER_VALUE = "nginx.ingress.kubernetes.io/canary-by-header-value"
PATCH_V2 = ('{"spec":{"template":{"spec":{"containers":[{"name":"busybox", '
            '"env":[{"name":"VERSION", "value":"version-2"}]}]}}}}')
#: Seconds a stage may take (``DEMO_STAGE_TIMEOUT`` overrides). The canary Rollout's own timed pauses
#: add 30+30+30+10 s to its last stage.
STAGE_TIMEOUT = float(os.environ.get("DEMO_STAGE_TIMEOUT", "120"))
CANARY_TAIL_TIMEOUT = STAGE_TIMEOUT + 120
#: Said when a stage does not come: what the scenarios depend on.
NEEDS = ("canary and A/B releases need the canary-Deployment executor and traffic routing through Services and "
         "the nginx Ingress (issue 11); see docs/walkthrough-canary.md")


class TrafficDemo(DemoShell):
    """Helpers shared by the scenarios."""

    rollout = ""
    needs = NEEDS

    def play(self) -> None:
        raise NotImplementedError

    def stage(self, what: str, ok: Callable[[], bool], timeout: float = STAGE_TIMEOUT) -> None:
        """Wait for ``ok``; if it does not come, stop with the Rollout's status and what is missing."""
        try:
            self.wait(what, ok, timeout)
        except SystemExit:
            status = self.attempt("get", "rollout", self.rollout, "-o", "jsonpath={.status.phase} step "
                                  "{.status.currentStepIndex} {.status.currentStepState}: {.status.message}",
                                  show=False)[1]
            raise SystemExit(f"[demo] stage '{what}' did not come within {timeout:.0f}s.\n"
                             f"Rollout {self.rollout} status: {status or '(none)'}\n{self.needs}") from None

    def apply_rollout(self, path: Path) -> None:
        if self.attempt("apply", "-f", str(path))[0] != 0:
            raise SystemExit(f"[demo] the Rollout {path.name} was refused (see above).\n{self.needs}")

    def state(self) -> str:
        return self.run("get", "rollout", self.rollout, "-o",
                        "jsonpath={.status.phase}/{.status.currentStepIndex}/{.status.currentStepState}", show=False)

    def deployments(self) -> dict[str, dict[str, Any]]:
        items = json.loads(self.run("get", "deploy", "-o", "json", show=False))["items"]
        return {d["metadata"]["name"]: d for d in items}

    def ingress_annotations(self, name: str) -> dict[str, str] | None:
        code, out, _ = self.attempt("get", "ingress", name, "-o", "json", show=False)
        return (json.loads(out)["metadata"].get("annotations") or {}) if code == 0 else None

    def exists(self, kind: str, name: str) -> bool:
        return self.attempt("get", kind, name, show=False)[0] == 0

    def views(self, *views: tuple[str, ...]) -> None:
        for view in views:
            self.run(*view)


def _ready(d: dict[str, Any] | None, ready: int, updated: int | None = None) -> bool:
    s = (d or {}).get("status") or {}
    return s.get("readyReplicas", 0) == ready and (updated is None or s.get("updatedReplicas", 0) == updated)


class CanaryDemo(TrafficDemo):
    """Seed part 2: canary release of echoserver with an extra Deployment and nginx weights."""

    rollout = "rollouts-canary-demo"

    def canary_deploy(self) -> dict[str, Any] | None:
        """The canary Deployment ``echoserver-<5 chars>`` created by the release (None when absent)."""
        found = [d for n, d in self.deployments().items() if n.startswith("echoserver-") and len(n) == 16]
        return found[0] if found else None

    def at_weight(self, weight: str, pods: int) -> bool:
        anns = self.ingress_annotations("echoserver-canary") or {}
        return (anns.get(CANARY) == "true" and anns.get(WEIGHT) == weight
                and _ready(self.canary_deploy(), pods) and self.exists("svc", "echoserver-canary"))

    def play(self) -> None:
        manifest = (HERE / "workload-canary-demo.yaml").read_text()
        print("# 1. echoserver v1 behind the Service and the nginx Ingress echoserver")
        self.run("apply", "-f", "-", stdin=manifest)
        self.stage("5 ready echoserver pods", lambda: _ready(self.deployments().get("echoserver"), 5))
        self.views(("get", "ingress", "echoserver"), ("get", "svc", "echoserver"),
                   ("get", "pods", "-l", "app=echoserver"))
        print("\n# 2. the canary Rollout (5% + 1 pod, manual; then 40/60/80/100% every 30 s)")
        self.apply_rollout(HERE / "rollout-canary-demo.yaml")
        self.stage("Healthy", lambda: self.state() == "Healthy/5/Completed")
        self.run("get", "rollout", self.rollout)
        print("\n# 3. NODE_NAME version2, applied again: a canary Deployment with 1 pod gets 5% of the traffic")
        self.run("apply", "-f", "-", stdin=manifest.replace("value: version1", "value: version2"))
        self.stage("step 1 paused at weight 5 with 1 canary pod",
                   lambda: self.state() == "Progressing/1/StepPaused" and self.at_weight("5", 1))
        self.views(("get", "deploy"), ("get", "pods"), ("get", "ingress"),
                   ("get", "ingress", "echoserver-canary", "-o", "yaml"), ("get", "svc"),
                   ("get", "rollout", self.rollout))
        print("\n# 4. approve: 40% of the traffic and 2 canary pods, then 60/80/100% on the timed pauses")
        self.run("kruise", "rollout", "approve", f"rollout/{self.rollout}", "-n", "default")
        self.stage("step 2 at weight 40 with 2 canary pods", lambda: self.at_weight("40", 2))
        self.run("get", "deploy")
        self.stage("completed, canary Deployment/Service/Ingress removed", self.finished, CANARY_TAIL_TIMEOUT)
        self.views(("get", "deploy"), ("get", "pods"), ("get", "ingress"), ("get", "svc"),
                   ("get", "rollout", self.rollout))

    def finished(self) -> bool:
        return (self.state() == "Healthy/5/Completed" and self.canary_deploy() is None
                and _ready(self.deployments().get("echoserver"), 5, 5)
                and not self.exists("ingress", "echoserver-canary") and not self.exists("svc", "echoserver-canary"))


class ABDemo(TrafficDemo):
    """Seed part 3: A/B testing on the partition style (header user-agent: pc to the first new pod)."""

    rollout = "rollouts-demo"

    def workload(self, updated: int) -> bool:
        return _ready(self.deployments().get("workload-demo"), 10, updated)

    def header_routed(self) -> bool:
        anns = self.ingress_annotations("ingress-demo-canary") or {}
        return anns.get(BY_HEADER) == "user-agent" and anns.get(BY_HEADER_VALUE) == "pc"

    def play(self) -> None:
        print("# 1. workload-demo (version-1) behind the Service service-demo and the Ingress ingress-demo")
        self.run("apply", "-f", str(HERE / "workload-demo.yaml"))
        self.run("apply", "-f", str(HERE / "network-ab-demo.yaml"))
        self.stage("10 ready pods", lambda: self.workload(10))
        self.views(("get", "deploy"), ("get", "svc"), ("get", "ingress"))
        print("\n# 2. the seed's A/B Rollout as printed: refused, naming its three mistakes")
        code, out, err = self.attempt("apply", "-f", str(HERE / "rollout-ab-seed.yaml"))
        if code == 0 or "Unknown field" not in out + err:
            raise SystemExit("[demo] the seed's A/B YAML verbatim should be refused with its unknown fields named")
        print("\n# 3. the corrected A/B Rollout (rollout-ab-demo.yaml)")
        self.apply_rollout(HERE / "rollout-ab-demo.yaml")
        self.stage("Healthy", lambda: self.state() == "Healthy/3/Completed")
        self.run("get", "rollout")
        print("\n# 4. release version-2: 1 new pod; requests with header user-agent: pc go to it")
        self.run("patch", "deployment", "workload-demo", "-p", PATCH_V2)
        self.stage("step 1 paused, header user-agent: pc routed to the new pod",
                   lambda: self.state() == "Progressing/1/StepPaused" and self.workload(1) and self.header_routed())
        self.views(("get", "deploy"), ("get", "pods"), ("get", "ingress"),
                   ("get", "ingress", "ingress-demo-canary", "-o", "yaml"), ("get", "svc"), ("get", "rollout"))
        print("\n# 5. approve: 50% of the pods; the header rule is dropped")
        self.run("kruise", "rollout", "approve", f"rollout/{self.rollout}", "-n", "default")
        self.stage("step 2 paused without the header rule",
                   lambda: self.state() == "Progressing/2/StepPaused" and self.workload(5) and not self.header_routed())
        self.views(("get", "deploy"), ("get", "ingress"), ("get", "rollout"))
        print("\n# 6. approve: every pod on version-2; the canary Service and Ingress are removed")
        self.run("kruise", "rollout", "approve", f"rollout/{self.rollout}", "-n", "default")
        self.stage("completed", lambda: self.state() == "Healthy/3/Completed" and self.workload(10)
                   and not self.exists("ingress", "ingress-demo-canary")
                   and not self.exists("svc", "service-demo-canary"))
        self.views(("get", "deploy"), ("get", "ingress"), ("get", "svc"), ("get", "rollout"))


class BlueGreenDemo(TrafficDemo):
    """echoserver released blue-green: both sides' pods, canary Ingress and Service selectors per step."""

    rollout = "rollouts-bluegreen-demo"
    needs = "blue-green releases are described in docs/bluegreen.md (issue 13)"
    #: (step, canary Ingress weight or None for no canary Ingress, new pods beside the 5 old ones)
    TABLE = ((1, None, 3), (2, None, 5), (3, "50", 5), (4, "100", 5))
    #: The edited image (on kwok no pod pulls it: a new tag is what makes a new revision).
    IMAGE_V2 = "registry.aliyuncs.com/google_containers/echoserver:1.11"
    SELECTORS = ("get", "svc", "-o", "custom-columns=NAME:.metadata.name,SELECTOR:.spec.selector")
    PODS = ("get", "pods", "-l", "app=echoserver", "-L", "pod-template-hash")
    #: The Ingresses with the nginx canary annotations the release writes (the rest is the user's).
    INGRESSES = ("get", "ingress", "-o", r"custom-columns=NAME:.metadata.name,"
                 r"CANARY:.metadata.annotations.nginx\.ingress\.kubernetes\.io/canary,"
                 r"WEIGHT:.metadata.annotations.nginx\.ingress\.kubernetes\.io/canary-weight")

    def sides(self) -> dict[str, int]:
        """pod-template-hash → ready pods, over the echoserver ReplicaSets that have replicas."""
        items = json.loads(self.run("get", "rs", "-l", "app=echoserver", "-o", "json", show=False))["items"]
        return {rs["metadata"]["labels"]["pod-template-hash"]: int(rs["status"].get("readyReplicas") or 0)
                for rs in items if rs["spec"].get("replicas") and not rs["metadata"].get("deletionTimestamp")}

    def at_step(self, step: int, weight: str | None, new: int) -> bool:
        anns = self.ingress_annotations("echoserver-canary")
        routed = anns is None if weight is None else (anns or {}).get(WEIGHT) == weight
        return (self.state() == f"Progressing/{step}/StepPaused" and routed
                and sorted(self.sides().values()) == sorted([5, new]))

    def show_step(self) -> None:
        self.views(("get", "rollout", self.rollout), self.PODS, self.INGRESSES, self.SELECTORS)

    def finished(self) -> bool:
        return (self.state() == "Healthy/4/Completed" and list(self.sides().values()) == [5]
                and _ready(self.deployments().get("echoserver"), 5, 5)
                and not self.exists("ingress", "echoserver-canary") and not self.exists("svc", "echoserver-canary"))

    def play(self) -> None:
        print("# 1. echoserver (1.10) behind the Service and the nginx Ingress echoserver")
        self.run("apply", "-f", str(HERE / "workload-canary-demo.yaml"))
        self.stage("5 ready echoserver pods", lambda: _ready(self.deployments().get("echoserver"), 5))
        self.views(self.PODS, self.SELECTORS)
        print("\n# 2. the blue-green Rollout (50%/0%, 100%/0%, 100%/50%, 100%/100%, each approved)")
        self.apply_rollout(HERE / "rollout-bluegreen-demo.yaml")
        self.stage("Healthy", lambda: self.state() == "Healthy/4/Completed")
        self.run("get", "rollout", self.rollout)
        print("\n# 3. a new image: the new pods come up beside the old ones")
        self.run("set", "image", "deployment/echoserver", f"echoserver={self.IMAGE_V2}")
        for step, weight, new in self.TABLE:
            if step > 1:
                print(f"\n# {step + 2}. approve: step {step}, {new} new pods beside 5 old, "
                      f"{'no canary Ingress' if weight is None else weight + '% of the traffic to the new pods'}")
                self.run("kruise", "rollout", "approve", f"rollout/{self.rollout}", "-n", "default")
            self.stage(f"step {step} paused with {new} new pods beside 5 old",
                       lambda s=step, w=weight, n=new: self.at_step(s, w, n))
            self.show_step()
        print("\n# 7. approve: the release completes, the Service is restored and the old pods go")
        self.run("kruise", "rollout", "approve", f"rollout/{self.rollout}", "-n", "default")
        self.stage("completed, old pods gone, canary Service/Ingress removed", self.finished)
        self.views(("get", "rollout", self.rollout), ("get", "deploy"), ("get", "rs"),
                   self.PODS, self.INGRESSES, self.SELECTORS)


SCENARIOS: dict[str, type[TrafficDemo]] = {"canary": CanaryDemo, "ab": ABDemo, "bluegreen": BlueGreenDemo}


def play(scenario: str, kubeconfig: str) -> None:
    SCENARIOS[scenario](kubeconfig).play()
