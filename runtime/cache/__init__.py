"""Informer cache: reflector → store (+indices) → per-handler notification queues."""

from .factory import SharedInformerFactory
from .frozen import FrozenDict, FrozenList, freeze, is_frozen, thaw
from .handlers import EventHandler, FuncHandler, Registration
from .informer import InformerSettings, SharedInformer, wait_for_cache_sync
from .reflector import Reflector, ReflectorSettings
from .store import (
    NAMESPACE_INDEX,
    OWNER_UID_INDEX,
    DeletedFinalStateUnknown,
    Store,
    matches_labels,
    object_key,
    split_key,
)
from .transform import LAST_APPLIED_ANNOTATION, Transform, chain, drop_managed_fields, strip_bookkeeping

__all__ = [
    "SharedInformerFactory", "SharedInformer", "InformerSettings", "Reflector", "ReflectorSettings", "Store",
    "DeletedFinalStateUnknown", "EventHandler", "FuncHandler", "Registration", "FrozenDict", "FrozenList",
    "freeze", "thaw", "is_frozen", "drop_managed_fields", "wait_for_cache_sync", "object_key", "split_key",
    "matches_labels", "NAMESPACE_INDEX", "OWNER_UID_INDEX", "Transform", "strip_bookkeeping", "chain",
    "LAST_APPLIED_ANNOTATION",
]
