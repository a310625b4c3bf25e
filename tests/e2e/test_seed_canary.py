"""The seed walkthrough's canary release with an nginx Ingress (金丝雀发布策略), verbatim.

Deployment ``echoserver`` (5 replicas) with its Service and Ingress, then the v1alpha1 Rollout
``rollouts-canary-demo`` with ``rolling-style: canary`` and steps weight 5 (1 replica, manual) /
40 / 60 / 80 / 100 (timed pauses 30 / 30 / 30 / 10 s, as in the seed). The NODE_NAME edit to
``version2`` starts the release; the views checked are the seed's ``kubectl get deploy``,
``get ingress echoserver-canary -o yaml``, ``get svc`` and ``get rollout``. No ingress controller
runs: the routing objects are checked, as upstream's e2e does.
"""

from __future__ import annotations

import time

import pytest
import yaml

from tests.e2e.harness import Kubectl, ManagerProcess, table, wait_for

pytestmark = pytest.mark.integration

WORKLOAD = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echoserver
  labels:
    app: echoserver
spec:
  replicas: 5
  selector:
    matchLabels:
      app: echoserver
  template:
    metadata:
      labels:
        app: echoserver
    spec:
      containers:
        - name: echoserver
          image: registry.aliyuncs.com/google_containers/echoserver:1.10
          ports:
            - containerPort: 8080
          env:
            - name: VERSION
              value: v1
            - name: NODE_NAME
              value: version1
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: POD_IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
---
apiVersion: v1
kind: Service
metadata:
  name: echoserver
  labels:
    app: echoserver
spec:
  ports:
    - port: 80
      targetPort: 8080
  selector:
    app: echoserver
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: echoserver
spec:
  ingressClassName: nginx
  rules:
    - host: echo.k8s.local
      http:
        paths:
          - path: /apis/echo
            pathType: Exact
            backend:
              service:
                name: echoserver
                port:
                  number: 80
"""

ROLLOUT = """
apiVersion: rollouts.kruise.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-canary-demo
  annotations:
    rollouts.kruise.io/rolling-style: canary
spec:
  objectRef:
    workloadRef:
      apiVersion: apps/v1
      kind: Deployment
      name: echoserver
  strategy:
    canary:
      steps:
        - weight: 5
          pause: {}
          replicas: 1
        - weight: 40
          pause: { duration: 30 }
        - weight: 60
          pause: { duration: 30 }
        - weight: 80
          pause: { duration: 30 }
        - weight: 100
          pause: { duration: 10 }
      trafficRoutings:
        - service: echoserver
          ingress:
            classType: nginx
            name: echoserver
"""

CANARY = "nginx.ingress.kubernetes.io/canary"
WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
STEP1_MSG = "Rollout is in step(1/5), and you need manually confirm to enter the next step"


def rollout_row(kc: Kubectl, ns: str) -> tuple[str, str, str, str]:
    row = table(kc("-n", ns, "get", "rollout", "rollouts-canary-demo"))[0]
    return row["STATUS"], row["CANARY_STEP"], row["CANARY_STATE"], row["MESSAGE"]


def deploys(kc: Kubectl, ns: str) -> dict[str, tuple[str, str, str]]:
    """``kubectl get deploy``: name → (READY, UP-TO-DATE, AVAILABLE)."""
    return {r["NAME"]: (r["READY"], r["UP-TO-DATE"], r["AVAILABLE"]) for r in table(kc("-n", ns, "get", "deploy"))}


def canary_view(kc: Kubectl, ns: str) -> tuple[str | None, str | None, tuple[str, str, str] | None]:
    """(canary annotation, canary-weight, the canary Deployment's row) — ``None`` where absent."""
    ing = kc("-n", ns, "get", "ingress", "echoserver-canary", "-o", "yaml", "--ignore-not-found")
    anns = (yaml.safe_load(ing) or {}).get("metadata", {}).get("annotations") or {} if ing.strip() else {}
    rows = [v for k, v in deploys(kc, ns).items() if k != "echoserver"]
    return anns.get(CANARY), anns.get(WEIGHT), rows[0] if rows else None


def node_name(obj_spec: dict) -> str:
    env = obj_spec["containers"][0]["env"]
    return next(e["value"] for e in env if e["name"] == "NODE_NAME")


def test_seed_canary_release_with_nginx_ingress(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    ns = namespace
    kc("-n", ns, "apply", "-f", "-", input=WORKLOAD)
    wait_for(lambda: deploys(kc, ns), lambda d: d == {"echoserver": ("5/5", "5", "5")}, what="5/5 version1 pods")
    svc_before = kc.json("-n", ns, "get", "svc", "echoserver")["spec"]
    ing_before = kc.json("-n", ns, "get", "ingress", "echoserver")

    kc("-n", ns, "apply", "-f", "-", input=ROLLOUT)
    wait_for(lambda: rollout_row(kc, ns), lambda r: r[:3] == ("Healthy", "5", "Completed"),
             what="Healthy 5 Completed right after creating the Rollout")

    kc("-n", ns, "apply", "-f", "-", input=WORKLOAD.replace("value: version1", "value: version2"))
    wait_for(lambda: rollout_row(kc, ns), lambda r: r == ("Progressing", "1", "StepPaused", STEP1_MSG),
             timeout=90, what="step 1 paused")
    d = deploys(kc, ns)
    assert d.pop("echoserver") == ("5/5", "0", "5")
    ((name, row),) = d.items()
    assert name.startswith("echoserver-") and len(name) == len("echoserver-") + 5
    assert row == ("1/1", "1", "1")
    assert canary_view(kc, ns)[:2] == ("true", "5")
    svcs = {r["NAME"] for r in table(kc("-n", ns, "get", "svc"))}
    assert svcs == {"echoserver", "echoserver-canary"}
    assert {r["NAME"] for r in table(kc("-n", ns, "get", "ingress"))} == {"echoserver", "echoserver-canary"}
    # Each Service selects exactly its own version's pods: the canary Deployment's, the stable Deployment's.
    pods = kc.json("-n", ns, "get", "pods")["items"]
    hashes = {p["metadata"]["labels"]["pod-template-hash"]: p["metadata"]["name"].startswith(name) for p in pods}
    canary_sel = kc.json("-n", ns, "get", "svc", "echoserver-canary")["spec"]["selector"]
    stable_sel = kc.json("-n", ns, "get", "svc", "echoserver")["spec"]["selector"]
    assert hashes[canary_sel["pod-template-hash"]] is True and hashes[stable_sel["pod-template-hash"]] is False

    out = kc("kruise", "rollout", "approve", "rollout/rollouts-canary-demo", "-n", ns).strip()
    assert out == "rollout.rollouts.kruise.io/rollouts-canary-demo approved"
    seen: list[tuple[str | None, tuple[str, str, str] | None]] = []
    deadline = time.monotonic() + 240
    while rollout_row(kc, ns)[:3] != ("Healthy", "5", "Completed"):
        assert time.monotonic() < deadline, f"release did not complete; seen {seen}, now {rollout_row(kc, ns)}"
        _, weight, canary_row = canary_view(kc, ns)
        if weight is not None and canary_row is not None and (not seen or seen[-1] != (weight, canary_row)):
            seen.append((weight, canary_row))
        time.sleep(0.5)
    # Each timed step is held 30 s with its weight and its (never shrinking) canary Deployment.
    for weight, replicas in (("40", 2), ("60", 3), ("80", 4), ("100", 5)):
        assert (weight, (f"{replicas}/{replicas}", str(replicas), str(replicas))) in seen, seen
    assert rollout_row(kc, ns)[3] == "Rollout progressing has been completed"

    wait_for(lambda: deploys(kc, ns), lambda d: d == {"echoserver": ("5/5", "5", "5")}, timeout=60,
             what="only the stable Deployment left, 5 updated")
    wait_for(lambda: {r["NAME"] for r in table(kc("-n", ns, "get", "svc"))}, lambda s: s == {"echoserver"},
             what="canary Service removed")
    assert {r["NAME"] for r in table(kc("-n", ns, "get", "ingress"))} == {"echoserver"}
    assert kc.json("-n", ns, "get", "svc", "echoserver")["spec"] == svc_before
    ing_after = kc.json("-n", ns, "get", "ingress", "echoserver")
    assert (ing_after["metadata"].get("annotations"), ing_after["spec"]) == (
        ing_before["metadata"].get("annotations"), ing_before["spec"])
    dep = kc.json("-n", ns, "get", "deploy", "echoserver")
    assert not dep["spec"].get("paused")
    assert [k for k in dep["metadata"].get("annotations") or {} if "rollouts.kruise.io" in k] == []
    wait_for(lambda: [node_name(p["spec"]) for p in kc.json("-n", ns, "get", "pods")["items"]
                      if not p["metadata"].get("deletionTimestamp")],
             lambda names: names == ["version2"] * 5, what="all 5 pods on version2")
    assert kc("-n", ns, "get", "batchreleases.rollouts.kruise.io", "-o", "name").strip() == ""


AB_WORKLOAD = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: workload-demo
spec:
  replicas: 10
  selector:
    matchLabels:
      app: demo
  template:
    metadata:
      labels:
        app: demo
    spec:
      containers:
        - name: busybox
          image: busybox:1.28.3
          command: ["/bin/sh", "-c", "sleep 100d"]
          env:
            - name: VERSION
              value: "version-1"
---
apiVersion: v1
kind: Service
metadata:
  name: service-demo
spec:
  ports:
    - port: 80
      targetPort: 8080
  selector:
    app: demo
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ingress-demo
spec:
  ingressClassName: nginx
  rules:
    - host: demo.k8s.local
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: service-demo
                port:
                  number: 80
"""

#: The seed's A/B Rollout with its three mistakes fixed (workloadRef indented, trafficRoutings
#: under canary, ``name:`` instead of ``key:``).
AB_ROLLOUT = """
apiVersion: rollouts.kruise.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
  annotations:
    rollouts.kruise.io/rolling-style: partition
spec:
  objectRef:
    workloadRef:
      apiVersion: apps/v1
      kind: Deployment
      name: workload-demo
  strategy:
    canary:
      steps:
        - replicas: 1
          matches:
            - headers:
                - name: user-agent
                  type: Exact
                  value: pc
        - replicas: 50%
        - replicas: 100%
      trafficRoutings:
        - service: service-demo
          ingress:
            classType: nginx
            name: ingress-demo
"""

HEADER = "nginx.ingress.kubernetes.io/canary-by-header"


def ab_row(kc: Kubectl, ns: str) -> tuple[str, str, str]:
    row = table(kc("-n", ns, "get", "rollout", "rollouts-demo"))[0]
    return row["STATUS"], row["CANARY_STEP"], row["CANARY_STATE"]


def canary_ingress_annotations(kc: Kubectl, ns: str) -> dict[str, str] | None:
    out = kc("-n", ns, "get", "ingress", "ingress-demo-canary", "-o", "yaml", "--ignore-not-found")
    return (yaml.safe_load(out)["metadata"].get("annotations") or {}) if out.strip() else None


def test_seed_ab_testing_header_then_plain_batches(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    ns = namespace
    kc("-n", ns, "apply", "-f", "-", input=AB_WORKLOAD)
    wait_for(lambda: deploys(kc, ns), lambda d: d == {"workload-demo": ("10/10", "10", "10")}, what="10 pods")
    svc_before = kc.json("-n", ns, "get", "svc", "service-demo")["spec"]
    kc("-n", ns, "apply", "-f", "-", input=AB_ROLLOUT)
    wait_for(lambda: ab_row(kc, ns), lambda r: r == ("Healthy", "3", "Completed"), what="Healthy")

    kc("-n", ns, "set", "env", "deployment/workload-demo", "VERSION=version-2")
    wait_for(lambda: ab_row(kc, ns), lambda r: r == ("Progressing", "1", "StepPaused"), timeout=90, what="step 1")
    anns = canary_ingress_annotations(kc, ns)
    assert anns is not None
    assert {k: v for k, v in anns.items() if k.startswith("nginx.ingress.kubernetes.io/canary")} == {
        "nginx.ingress.kubernetes.io/canary": "true", HEADER: "user-agent",
        "nginx.ingress.kubernetes.io/canary-by-header-value": "pc"}
    assert deploys(kc, ns)["workload-demo"] == ("10/10", "1", "10")
    canary_svc = kc.json("-n", ns, "get", "svc", "service-demo-canary")["spec"]["selector"]
    stable_svc = kc.json("-n", ns, "get", "svc", "service-demo")["spec"]["selector"]
    assert canary_svc["app"] == stable_svc["app"] == "demo"
    assert canary_svc["pod-template-hash"] != stable_svc["pod-template-hash"]

    kc("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", ns)
    wait_for(lambda: ab_row(kc, ns), lambda r: r == ("Progressing", "2", "StepPaused"), timeout=90, what="step 2")
    anns = canary_ingress_annotations(kc, ns)
    assert anns is None or HEADER not in anns, anns  # the header rule is dropped: plain batches from here on
    assert deploys(kc, ns)["workload-demo"] == ("10/10", "5", "10")

    kc("kruise", "rollout", "approve", "rollout/rollouts-demo", "-n", ns)
    wait_for(lambda: ab_row(kc, ns), lambda r: r == ("Healthy", "3", "Completed"), timeout=90, what="completed")
    assert canary_ingress_annotations(kc, ns) is None
    wait_for(lambda: kc.json("-n", ns, "get", "svc", "service-demo")["spec"], lambda s: s == svc_before,
             what="stable Service as the user wrote it")
    assert {r["NAME"] for r in table(kc("-n", ns, "get", "svc"))} == {"service-demo"}


AB_CANARY_ROLLOUT = """
apiVersion: rollouts.kruise.io/v1beta1
kind: Rollout
metadata:
  name: ab-canary
spec:
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: echoserver
  strategy:
    canary:
      enableExtraWorkloadForCanary: true
      steps:
        - replicas: 1
          matches:
            - headers:
                - name: user-agent
                  type: Exact
                  value: pc
        - replicas: 50%
          traffic: 50%
        - replicas: 100%
      trafficRoutings:
        - service: echoserver
          ingress:
            name: echoserver
"""


def test_ab_testing_on_the_canary_style_then_weights(manager: ManagerProcess, kc: Kubectl, namespace: str) -> None:
    """A/B on the extra canary Deployment: header rule only, then a weight replacing it, then stable."""
    ns = namespace
    kc("-n", ns, "apply", "-f", "-", input=WORKLOAD)
    wait_for(lambda: deploys(kc, ns), lambda d: d == {"echoserver": ("5/5", "5", "5")}, what="5 pods")
    kc("-n", ns, "apply", "-f", "-", input=AB_CANARY_ROLLOUT)
    row = lambda: table(kc("-n", ns, "get", "rollout", "ab-canary"))[0]  # noqa: E731
    wait_for(lambda: row()["STATUS"], lambda s: s == "Healthy", what="Healthy")

    kc("-n", ns, "set", "env", "deployment/echoserver", "NODE_NAME=version2")
    wait_for(lambda: (row()["CANARY_STEP"], row()["CANARY_STATE"]), lambda r: r == ("1", "StepPaused"),
             timeout=90, what="step 1")
    anns = kc.json("-n", ns, "get", "ingress", "echoserver-canary")["metadata"]["annotations"]
    nginx = {k: v for k, v in anns.items() if k.startswith("nginx.ingress.kubernetes.io/canary")}
    assert nginx == {CANARY: "true", HEADER: "user-agent", "nginx.ingress.kubernetes.io/canary-by-header-value": "pc"}
    assert canary_view(kc, ns)[2] == ("1/1", "1", "1")

    kc("kruise", "rollout", "approve", "rollout/ab-canary", "-n", ns)
    wait_for(lambda: (row()["CANARY_STEP"], row()["CANARY_STATE"]), lambda r: r == ("2", "StepPaused"),
             timeout=90, what="step 2")
    anns = kc.json("-n", ns, "get", "ingress", "echoserver-canary")["metadata"]["annotations"]
    nginx = {k: v for k, v in anns.items() if k.startswith("nginx.ingress.kubernetes.io/canary")}
    assert nginx == {CANARY: "true", WEIGHT: "50"}  # the header rule is gone, the weight replaces it
    assert canary_view(kc, ns)[2] == ("3/3", "3", "3")

    kc("kruise", "rollout", "approve", "rollout/ab-canary", "-n", ns)
    wait_for(lambda: (row()["STATUS"], row()["CANARY_STATE"]), lambda r: r == ("Healthy", "Completed"),
             timeout=120, what="completed")
    assert {r["NAME"] for r in table(kc("-n", ns, "get", "ingress"))} == {"echoserver"}
    wait_for(lambda: deploys(kc, ns), lambda d: d == {"echoserver": ("5/5", "5", "5")}, timeout=60,
             what="canary Deployment gone, 5 updated")
