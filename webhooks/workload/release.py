"""Pure helpers of the workload webhooks: matching Rollout, "effective release change", merge patches.

Kept free of I/O so the rules of workload-webhook.md §1.1 and §1.2 are tested as tables.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from rollouts.api import keys
from rollouts.api.decode import as_rollout, rollout_phase
from rollouts.objects import meta, workload
from rollouts.release.template_hash import equal_ignore_hash
from runtime import labels as label_selectors

ROLLOUT_ID_ANNOTATION = keys.ROLLOUT_ID_ANNOTATION

Obj = Mapping[str, Any]


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def matched_rollout(rollouts: Iterable[Obj], api_version: str, kind: str, name: str) -> Obj | None:
    """§1.1 ``fetchMatchedRollout``: first non-deleting, non-Disabled Rollout referencing the workload.

    Returns ``None`` too when that Rollout has neither ``canary`` nor ``blueGreen`` strategy.
    """
    for ro in rollouts:
        if meta.is_deleting(ro):
            continue
        model = as_rollout(ro)  # listed from the v1beta1 endpoint: schema-valid, so it decodes
        ref = model.spec.workload_ref
        if (_group(ref.api_version), ref.kind, ref.name) != (_group(api_version), kind, name):
            continue
        if rollout_phase(ro) == "Disabled":
            continue
        strategy = model.spec.strategy
        return ro if (strategy.canary is not None or strategy.blue_green is not None) else None
    return None


def is_effective_release_change(old: Obj, new: Obj) -> bool:
    """§1.2: a rollout-id annotation change, or a pod-template change ignoring ``pod-template-hash``."""
    new_id = meta.annotations_of(new).get(ROLLOUT_ID_ANNOTATION, "")
    old_id = meta.annotations_of(old).get(ROLLOUT_ID_ANNOTATION, "")
    if new_id and new_id == old_id:
        return False
    if not new_id:
        return not equal_ignore_hash(workload.template(old), workload.template(new))
    return True


def apply_merge_patch(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386 applied in place to ``target`` (``None`` deletes); returns ``target``."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping):
            current = target.get(key)
            if not isinstance(current, dict):
                current = {}
                target[key] = current
            apply_merge_patch(current, value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A webhook's objectSelector against ``labels``: an absent selector means "everything" here
    (admission semantics), unlike a nil LabelSelector elsewhere, which selects nothing."""
    return label_selectors.matches(selector or {}, labels)


def _listed(values: Iterable[str] | None, value: str) -> bool:
    values = list(values or [])
    return "*" in values or value in values


def request_matches_configuration(
    configuration: Mapping[str, Any], *, group: str, version: str, resource: str, operation: str,
    labels: Mapping[str, str],
) -> bool:
    """§1 ``checkWorkloadRules``: some webhook of the live configuration has a rule for this request
    and an objectSelector matching the new object's labels."""
    for webhook in configuration.get("webhooks") or []:
        if not selector_matches(webhook.get("objectSelector"), labels):
            continue
        for rule in webhook.get("rules") or []:
            if (_listed(rule.get("apiGroups"), group) and _listed(rule.get("apiVersions"), version)
                    and _listed(rule.get("resources"), resource) and _listed(rule.get("operations"), operation)):
                return True
    return False
