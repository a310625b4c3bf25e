"""The custom provider (traffic-routing.md §4.3, lua-contract.md §5): any object, rewritten by Lua.

``customNetworkRefs`` names objects of any kind (an Istio ``VirtualService`` and ``DestinationRule``,
or a CRD of the user's) in the Rollout's namespace. For each, a Lua script turns the object *as it
was before the release* plus the step (weight, matches, header modifier, Service names) into the
object's new ``spec``, labels and annotations.

Vocabulary:

* *snapshot* — the pre-release ``{spec, labels, annotations}`` of an object, stored on the object
  itself in the annotation ``rollouts.kruise.io/original-spec-configuration`` (so a restarted
  controller, or another replica, still knows what to restore). Its text is exactly upstream's:
  Go's ``json.Marshal`` of a struct ``{spec, labels, annotations}`` — keys in that (declaration)
  order, each omitted when empty, maps inside with sorted keys, compact, Go's HTML-safe escaping —
  so an object snapshotted by upstream's controller is restored by this one and vice versa.
* *desired* — the script's output with the snapshot annotation re-added.

Why every step starts from the snapshot: a script then never sees its own previous output, so steps
do not accumulate (a weight step after a match step leaves no stale match route) and a script need
not know how to undo itself; finalising is simply "write the snapshot back".

Differences from upstream, each to leave nothing half-applied: upstream writes the snapshot in one
update and the script's result in a second, running the scripts in between, so a failing script
leaves snapshotted objects behind; here every script runs (and every object is fetched) before the
first write, and the snapshot travels in the same update as the result. A snapshot that is not valid
JSON is an error naming the annotation (upstream ignores the parse error and writes ``spec: null``).
Upstream returns "done" for a step with ``traffic: "0%"`` without reading an object or running a
script (its comment: "weight 0 indicates finalising"); only blue-green admits such a step (its usual
first step: new pods up, no traffic yet). We match it where nothing was routed yet — weight 0, no
matches and no object snapshotted: done, nothing run or written, as the Ingress provider does with
no canary Ingress — and otherwise run the scripts, so a ``"0%"`` step after a routed step really
takes the traffic back (upstream leaves the previous weight and reports done) and matches in such
a step are honoured (upstream drops them). The spec (traffic-routing.md §4.3) records neither.

Writes are full updates guarded by the ``resourceVersion`` read in the same call: a concurrent edit
makes the update fail with a Conflict, which the controller retries with fresh reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from rollouts.api import dump, keys
from rollouts.api.common import CustomNetworkRef, HTTPHeaderFilter
from rollouts.api.v1beta1.rollout import HttpRouteMatch
from rollouts.lua import gojson
from rollouts.lua.configuration import ScriptConfiguration
from rollouts.lua.contract import custom_input, custom_output
from rollouts.lua.sandbox import LuaFailure, LuaRunner, LuaScript
from rollouts.lua.scripts import ScriptNotFound, custom_script
from rollouts.objects import meta as objmeta
from rollouts.trafficrouting.provider import ObjectClient, TrafficRoutingError
from runtime.kube.discovery import ResourceResolver
from runtime.kube.errors import NotFound
from runtime.kube.resources import Resource

__all__ = ["SNAPSHOT_ANNOTATION", "CustomNetworkProvider", "Snapshot", "decode_snapshot", "desired_object",
           "encode_snapshot", "restored_object", "snapshot_of"]

SNAPSHOT_ANNOTATION = keys.ORIGINAL_SPEC_CONFIGURATION_ANNOTATION


@attrs.frozen
class Snapshot:
    """An object's ``spec``, labels and annotations (without the snapshot annotation)."""

    spec: Any
    labels: Mapping[str, str] = attrs.field(factory=dict)
    annotations: Mapping[str, str] = attrs.field(factory=dict)

    def as_data(self) -> dict[str, Any]:
        """``obj.data`` of the script: empty fields left out (Go's ``omitempty``)."""
        data: dict[str, Any] = {}
        if self.spec is not None:
            data["spec"] = self.spec
        if self.labels:
            data["labels"] = dict(self.labels)
        if self.annotations:
            data["annotations"] = dict(self.annotations)
        return data


def snapshot_of(obj: Mapping[str, Any]) -> Snapshot:
    """The live object's configuration, as it is stored before the release starts."""
    annotations = {k: v for k, v in objmeta.annotations_of(obj).items() if k != SNAPSHOT_ANNOTATION}
    return Snapshot(obj.get("spec"), dict(objmeta.labels(obj)), annotations)


def encode_snapshot(snap: Snapshot) -> str:
    """The annotation's text, byte for byte upstream's (module docstring): struct order, not sorted."""
    parts = [f'"{key}":{gojson.dumps(value)}' for key, value in snap.as_data().items()]
    return "{" + ",".join(parts) + "}"


def decode_snapshot(text: str, *, where: str) -> Snapshot:
    """Parse the annotation; ``where`` names the object for the error."""
    try:
        data = json.loads(text)
    except ValueError as e:
        data, problem = None, str(e)
    else:
        problem = ("labels and annotations must map strings to strings" if isinstance(data, dict)
                   else "not a JSON object")
    if not isinstance(data, dict) or not _string_map(data.get("labels")) or not _string_map(data.get("annotations")):
        raise TrafficRoutingError(
            f"{where}: annotation {SNAPSHOT_ANNOTATION} is not a snapshot ({problem}); restore the object's spec, "
            "labels and annotations by hand and remove the annotation")
    return Snapshot(data.get("spec"), dict(data.get("labels") or {}), dict(data.get("annotations") or {}))


def _string_map(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and all(isinstance(v, str) for v in value.values()))


def _with_configuration(obj: Mapping[str, Any], spec: Any, labels: Mapping[str, str],
                        annotations: Mapping[str, str]) -> dict[str, Any]:
    """``obj`` with spec, labels and annotations replaced (empty ones removed, as Go's setters do)."""
    out = {k: v for k, v in obj.items() if k != "spec"}
    if spec is not None:
        out["spec"] = spec
    meta = {k: v for k, v in objmeta.metadata(obj).items() if k not in ("labels", "annotations")}
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    out["metadata"] = meta
    return out


def desired_object(obj: Mapping[str, Any], result: Snapshot, snapshot_text: str) -> dict[str, Any] | None:
    """The update that gives ``obj`` the script's ``result``; None when ``obj`` already has it.

    ``spec`` is compared as Go JSON text (``50`` equals ``50.0``, key order ignored), labels and
    annotations as maps, the snapshot annotation included (so the first step also stores it).
    """
    annotations = {**result.annotations, SNAPSHOT_ANNOTATION: snapshot_text}
    if (gojson.dumps(obj.get("spec")) == gojson.dumps(result.spec)
            and dict(objmeta.annotations_of(obj)) == annotations and dict(objmeta.labels(obj)) == dict(result.labels)):
        return None
    return _with_configuration(obj, result.spec, result.labels, annotations)


def restored_object(obj: Mapping[str, Any], *, where: str) -> dict[str, Any] | None:
    """The update putting the snapshot back (which drops the annotation); None without a snapshot."""
    text = objmeta.annotations_of(obj).get(SNAPSHOT_ANNOTATION)
    if not text:
        return None
    snap = decode_snapshot(text, where=where)
    return _with_configuration(obj, snap.spec, snap.labels, snap.annotations)


@attrs.frozen
class _Target:
    """One reference, resolved: its index, the REST resource and the live object."""

    index: int
    ref: CustomNetworkRef
    resource: Resource
    obj: dict[str, Any]


class CustomNetworkProvider:
    """:class:`~rollouts.trafficrouting.provider.TrafficProvider` over ``customNetworkRefs``.

    ``resolver`` finds each kind's REST resource (API discovery); ``scripts`` is the cached
    ``kruise-rollout-configuration`` ConfigMap (the manager's informer), read on each call that needs
    a script the project does not ship, so an edit takes effect without a restart or a GET. Scripts
    run through ``runner.run_async`` (a worker thread: the event loop is never held by Lua).
    """

    def __init__(
        self, client: ObjectClient, *, resolver: ResourceResolver | None, runner: LuaRunner, namespace: str,
        refs: Sequence[CustomNetworkRef], stable_service: str, canary_service: str, scripts: ScriptConfiguration,
        ref_field: str,
    ) -> None:
        self._client, self._resolver, self._runner = client, resolver, runner
        self._ns, self._refs = namespace, list(refs)
        self._stable, self._canary = stable_service, canary_service
        self._config, self._field = scripts, f"{ref_field}.customNetworkRefs"

    # -- lookups -------------------------------------------------------------------------------
    def _name(self, i: int, ref: CustomNetworkRef) -> str:
        return f"{self._field}[{i}] ({ref.kind} {self._ns}/{ref.name}, apiVersion {ref.api_version})"

    async def _resource(self, i: int, ref: CustomNetworkRef) -> Resource | str:
        """The kind's resource, or why there is none (names the reference and the fix)."""
        if self._resolver is None:
            return f"{self._name(i, ref)}: this controller's client cannot discover kinds; run it with a KubeClient"
        resource = await self._resolver.resource_for(ref.api_version, ref.kind)
        if resource is None:
            return (f"{self._name(i, ref)}: the API server does not serve kind {ref.kind} in {ref.api_version}; "
                    "install its CRD or correct apiVersion/kind")
        return resource

    async def _targets(self) -> list[_Target] | str:
        """Every referenced object, or the first reason one cannot be read (missing kind or object)."""
        found: list[_Target] = []
        for i, ref in enumerate(self._refs):
            resource = await self._resource(i, ref)
            if isinstance(resource, str):
                return resource
            try:
                obj = await self._client.get(resource, ref.name, self._ns)
            except NotFound:
                return f"{self._name(i, ref)} does not exist; create it or correct the reference"
            found.append(_Target(i, ref, resource, obj))
        return found

    async def _scripts(self) -> list[LuaScript] | str:
        """The script of every reference (shipped first, then the ConfigMap), or the first miss."""
        scripts: list[LuaScript] = []
        ns = self._config.namespace
        for i, ref in enumerate(self._refs):
            found = custom_script(ref.api_version, ref.kind, {}, namespace=ns)
            if isinstance(found, ScriptNotFound):  # not shipped: the ConfigMap decides
                found = custom_script(ref.api_version, ref.kind, self._config.data(), namespace=ns)
            if isinstance(found, ScriptNotFound):
                return f"{self._name(i, ref)}: {found.message}"
            scripts.append(found)
        return scripts

    # -- the provider contract -----------------------------------------------------------------
    async def initialize(self) -> str | None:
        """None when every object exists and has a script (spec §1.1); nothing is modified."""
        targets = await self._targets()
        if isinstance(targets, str):
            return targets
        scripts = await self._scripts()
        return scripts if isinstance(scripts, str) else None

    def check(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> None:
        """Nothing to refuse up front: each script decides what it can express (headers, paths, modifier)."""

    async def ensure_routes(
        self, *, weight: int | None, matches: list[HttpRouteMatch], header_modifier: HTTPHeaderFilter | None = None,
    ) -> bool:
        """Run every script on its snapshot, then update the objects that differ; True = none differed."""
        targets = await self._targets()
        if isinstance(targets, str):
            raise TrafficRoutingError(targets)
        if weight == 0 and not matches and not any(SNAPSHOT_ANNOTATION in objmeta.annotations_of(t.obj)
                                                   for t in targets):
            return True  # nothing routed yet and nothing to route: all traffic is on stable already
        scripts = await self._scripts()
        if isinstance(scripts, str):
            raise TrafficRoutingError(scripts)
        updates: list[tuple[_Target, dict[str, Any]]] = []
        for target, script in zip(targets, scripts, strict=True):
            text = objmeta.annotations_of(target.obj).get(SNAPSHOT_ANNOTATION)
            where = self._name(target.index, target.ref)
            snap = decode_snapshot(text, where=where) if text else snapshot_of(target.obj)
            result = await self._run(script, snap, weight=weight, matches=matches, header_modifier=header_modifier,
                                     where=where)
            body = desired_object(target.obj, result, text or encode_snapshot(snap))
            if body is not None:
                updates.append((target, body))
        for target, body in updates:  # every script succeeded: now write
            await self._client.update(target.resource, body)
        return not updates

    async def _run(
        self, script: LuaScript, snap: Snapshot, *, weight: int | None, matches: list[HttpRouteMatch],
        header_modifier: HTTPHeaderFilter | None, where: str,
    ) -> Snapshot:
        obj = custom_input(data=snap.as_data(), canary_weight=weight, stable_service=self._stable,
                           canary_service=self._canary, matches=[dump(m) for m in matches],
                           header_modifier=dump(header_modifier) if header_modifier is not None else None)
        out = custom_output(await self._runner.run_async(script, obj))
        if isinstance(out, LuaFailure):
            raise TrafficRoutingError(f"{where}: {out.message}; fix the script (nothing was changed)")
        return Snapshot(out.spec, out.labels, out.annotations)

    async def finalise(self) -> bool:
        """Put every snapshot back; True when no object had one. Tries every object, then raises the first error."""
        restored, errors = 0, []
        for i, ref in enumerate(self._refs):
            try:
                restored += await self._restore(i, ref)
            except Exception as e:  # noqa: BLE001 - aggregated: one broken object must not block the others
                errors.append(e)
        if errors:
            raise errors[0]
        return restored == 0

    async def _restore(self, i: int, ref: CustomNetworkRef) -> int:
        resource = await self._resource(i, ref)
        if isinstance(resource, str):
            return 0  # the kind is not served: no such object can hold a snapshot
        try:
            obj = await self._client.get(resource, ref.name, self._ns)
        except NotFound:
            return 0
        body = restored_object(obj, where=self._name(i, ref))
        if body is None:
            return 0
        await self._client.update(resource, body)
        return 1
