"""Admission metrics of the webhook server: latency per webhook, requests by answer code, denials; and
the conversion webhook's reviews, objects and latency.

Names follow controller-runtime's webhook metrics (``controller_runtime_webhook_latency_seconds``,
``controller_runtime_webhook_requests_total{webhook,code}``) so its dashboards work, plus
``kruise_rollout_webhook_denials_total`` with the operation and the object's kind: a denial is what a user
sees as a failed ``kubectl apply``, so it gets its own counter to alert on. Every label comes from a
fixed set (registered paths, the four operations, the kinds we register for): bounded cardinality.
"""

from __future__ import annotations

from runtime.metrics import Registry

__all__ = ["AdmissionMetrics", "WEBHOOK_BUCKETS"]

WEBHOOK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: an admission answer is ~1 ms from the cache; the API server's timeout is 10 s (failurePolicy)."""


class AdmissionMetrics:
    """What the server records per admission review (one per registry)."""

    def __init__(self, registry: Registry) -> None:
        self.latency = registry.histogram("controller_runtime_webhook_latency_seconds",
                                          "Seconds to answer an admission review.", ["webhook"],
                                          buckets=WEBHOOK_BUCKETS)
        self.requests = registry.counter("controller_runtime_webhook_requests_total",
                                         "Admission reviews by webhook path and answer code (200 allowed, "
                                         "else the denial's code).", ["webhook", "code"])
        self.denials = registry.counter("kruise_rollout_webhook_denials_total",
                                        "Admission reviews denied, by webhook path, operation and kind.",
                                        ["webhook", "operation", "kind"])

        self.conversion_reviews = registry.counter(
            "kruise_rollout_conversion_reviews_total",
            "CRD ConversionReviews answered, by the version asked for (v1alpha1, v1beta1, other) and result "
            "(success, failure).", ["desired_version", "result"])
        self.conversion_objects = registry.counter(
            "kruise_rollout_conversion_objects_total",
            "Objects converted, by the version asked for. The API server's watch cache of each non-storage "
            "version converts every Rollout/BatchRelease write, read or not.", ["desired_version"])
        self.conversion_latency = registry.histogram(
            "kruise_rollout_conversion_latency_seconds", "Seconds to answer a ConversionReview.", [],
            buckets=WEBHOOK_BUCKETS)

    def observe_conversion(self, *, desired_api_version: str, objects: int, ok: bool, seconds: float) -> None:
        version = desired_api_version.rpartition("/")[2]
        version = version if version in ("v1alpha1", "v1beta1") else "other"  # bounded: requests are input
        self.conversion_reviews.inc(desired_version=version, result="success" if ok else "failure")
        if ok:
            self.conversion_objects.inc(objects, desired_version=version)
        self.conversion_latency.observe(seconds)

    def observe(self, *, webhook: str, operation: str, kind: str, allowed: bool, code: int | None,
                seconds: float) -> None:
        self.latency.observe(seconds, webhook=webhook)
        self.requests.inc(webhook=webhook, code=str(200 if allowed else (code or 403)))
        if not allowed:
            self.denials.inc(webhook=webhook, operation=operation or "", kind=kind or "")
