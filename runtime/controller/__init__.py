"""The controller engine (queue + workers + retry policy) and the event-handler helpers."""

from .controller import Controller, ControllerSettings
from .handlers import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
    owner_requests,
    request_for,
    unwrap_tombstone,
)
from .policy import Action, Decision, decide
from .predicates import (
    AnnotationsChanged,
    FuncPredicate,
    GenerationChanged,
    LabelsChanged,
    Or,
    Predicate,
    ResourceVersionChanged,
)

__all__ = [
    "Controller", "ControllerSettings", "EnqueueRequestForObject", "EnqueueRequestForOwner",
    "EnqueueRequestsFromMapFunc", "owner_requests", "request_for", "unwrap_tombstone", "Action", "Decision",
    "decide", "Predicate", "GenerationChanged", "LabelsChanged", "AnnotationsChanged", "ResourceVersionChanged",
    "Or", "FuncPredicate",
]
