"""Work queues, one concept per module as in client-go's ``util/workqueue``."""

from .delaying import DelayingQueue
from .metrics import NOOP_METRICS, QueueMetrics
from .queue import ShutDown, WorkQueue
from .rate_limiters import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    RateLimiterSettings,
    default_controller_rate_limiter,
)
from .ratelimiting import RateLimitingQueue

__all__ = [
    "WorkQueue", "DelayingQueue", "RateLimitingQueue", "ShutDown", "QueueMetrics", "NOOP_METRICS",
    "RateLimiter", "ItemExponentialFailureRateLimiter", "BucketRateLimiter", "MaxOfRateLimiter",
    "RateLimiterSettings", "default_controller_rate_limiter",
]
