"""Kubernetes ``ComputeHash`` in Python (rollouts.release.podhash) against the real Go code.

The vectors are (JSON template, collision count, hash) triples computed by ``tools/podhash`` with
the pinned k8s.io/api, go-spew and the apimachinery decoder (``make hash-vectors``); this test only
reads the committed file, so it runs (and can fail) without Go.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from rollouts.release.podhash import DecodeError, compute_hash, pod_template_dump
from rollouts.release.podhash.decode import CUSTOM_DECODERS, check_handlers, decoded_custom_types
from rollouts.release.podhash.layout import compile_layout, load_layout
from rollouts.release.podhash.quantity import parse_quantity

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).parent / "data"
VECTORS = DATA / "podhash_vectors.jsonl"


def _vectors() -> list[dict]:
    return [json.loads(line) for line in VECTORS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _go_mod_pins() -> dict[str, str]:
    text = (ROOT / "tools" / "podhash" / "go.mod").read_text()
    return dict(re.findall(r"^\s*(\S+) (v\S+)", text, flags=re.M))


def test_layout_is_generated_from_the_pinned_modules() -> None:
    header = load_layout().header
    pins = _go_mod_pins()
    for module in ("k8s.io/api", "k8s.io/apimachinery", "github.com/davecgh/go-spew", "sigs.k8s.io/json"):
        assert header[module] == pins[module], f"layout.json header {module} != tools/podhash/go.mod: make hash-layout"
    assert header["k8s.io/api"].startswith("v0.28."), "upstream Kruise Rollouts' k8s.io/api line is v0.28"
    assert load_layout().root.name == "v1.PodTemplateSpec"


def test_every_go_vector_hashes_the_same() -> None:
    vectors = _vectors()
    assert len(vectors) >= 300
    failures = []
    for i, v in enumerate(vectors):
        got = compute_hash(v["template"], v["collisionCount"])
        if got != v["hash"]:
            failures.append(f"#{i} {v.get('name', '')}: {got} != {v['hash']}: {json.dumps(v['template'])[:300]}")
    assert not failures, f"{len(failures)} of {len(vectors)} differ:\n" + "\n".join(failures[:5])


def test_vectors_cover_every_special_representation() -> None:
    """The vectors are only proof where they reach: each internal representation must appear."""
    seen: Counter[str] = Counter()
    markers = {
        "int64 quantity with cached string": "s:(string)1",
        "inf.Dec quantity": "Dec:(*inf.Dec){unscaled:(big.Int){neg:(bool)false abs:(big.nat)[",
        "negative inf.Dec": "neg:(bool)true",
        "zero inf.Dec (nil words after DeepCopy)": "abs:(big.nat)<nil>",
        "multi-word inf.Dec": re.compile(r"abs:\(big\.nat\)\[\d+ \d+"),
        "BinarySI": "Format:(resource.Format)BinarySI",
        "DecimalExponent": "Format:(resource.Format)DecimalExponent",
        "timestamp with time.Local": "loc:(*time.Location){name:(string)UTC",
        "fieldsV1 raw bytes": "Raw:([]uint8)[123",
        "int-or-string string": "Type:(intstr.Type)1",
        "empty non-nil map": "map[]",
        "empty non-nil slice": "[]v1.Container)[]",
        "nil pointer": "(*v1.Probe)<nil>",
    }
    for v in _vectors():
        dump = pod_template_dump(v["template"])
        for name, marker in markers.items():
            if (marker.search(dump) if isinstance(marker, re.Pattern) else marker in dump):
                seen[name] += 1
    assert set(seen) == set(markers), f"not covered: {set(markers) - set(seen)}"
    assert sum(1 for v in _vectors() if v["collisionCount"] is not None) >= 50


def test_hand_picked_realistic_templates_and_parser_fuzz_are_in_the_vectors() -> None:
    names = [v.get("name") or "" for v in _vectors()]
    assert sum(n.startswith("fuzz: 20 quantities and 10 timestamps") for n in names) >= 40
    assert any(n and "busybox demo, version-1 as the API server returns it" in n for n in names)
    assert any(n and n.startswith("echoserver") for n in names)


def _seed_template(version: str) -> dict:
    return next(v["template"] for v in _vectors()
                if f"{version} as the API server returns it" in v.get("name", ""))


def _layout_at(version: str):
    layout = compile_layout(json.loads((DATA / f"podhash_layout_{version}.json").read_text(encoding="utf-8")))
    assert layout.header["k8s.io/api"] == version
    return layout


def test_seed_walkthrough_hashes_are_reproduced_with_the_layouts_of_their_versions() -> None:
    """End to end against values real Go binaries printed in the seed walkthrough: its cluster's
    kube-controller-manager named the busybox demo's version-1 ReplicaSet ``…-6c7764b765``, and its
    Kruise Rollouts v0.3.0 showed ``Canary Revision: 6dd59d49b5`` for version 2. This code with the
    layout of k8s.io/api v0.26.15 resp. v0.22.17 (``make hash-layout-at V=…``) gives exactly those;
    the pinned v0.28 layout gives other values, which is the whole version story in two lines.
    """
    version_1, version_2 = _seed_template("version-1"), _seed_template("version-2")
    assert compute_hash(version_1, layout=_layout_at("v0.26.15")) == "6c7764b765"
    assert compute_hash(version_2, layout=_layout_at("v0.22.17")) == "6dd59d49b5"
    assert compute_hash(version_1) not in ("6c7764b765", compute_hash(version_2))


def test_a_second_pointer_to_time_local_prints_shown_until_a_shallower_pointer_intervenes() -> None:
    """go-spew's pointer memory, on a synthetic layout (unreachable in v0.28's PodTemplateSpec,
    where a nil pointer field always follows a timestamp). Expected text printed by go-spew for
    ``struct{A metav1.Time; B Inner; P *int64; C Inner}`` with ``Inner{T metav1.Time}``.
    """
    raw = json.loads((ROOT / "rollouts/release/podhash/layout.json").read_text(encoding="utf-8"))
    time_id = "k8s.io/apimachinery/pkg/apis/meta/v1.Time"
    raw["types"]["main.Inner"] = {"kind": "struct", "name": "main.Inner", "fields": [
        {"name": "T", "type": time_id, "json": "t"}]}
    raw["types"]["main.Outer"] = {"kind": "struct", "name": "main.Outer", "fields": [
        {"name": "A", "type": time_id, "json": "a"}, {"name": "B", "type": "main.Inner", "json": "b"},
        {"name": "P", "type": "*int64", "json": "p"}, {"name": "C", "type": "main.Inner", "json": "c"}]}
    raw["root"] = "main.Outer"
    local = ("loc:(*time.Location){name:(string)UTC zone:([]time.zone)<nil> tx:([]time.zoneTrans)<nil> "
             "extend:(string) cacheStart:(int64)0 cacheEnd:(int64)0 cacheZone:(*time.zone)<nil>}")
    want = ("(main.Outer){A:(v1.Time){Time:(time.Time){wall:(uint64)0 ext:(int64)63839761445 " + local + "}} "
            "B:(main.Inner){T:(v1.Time){Time:(time.Time){wall:(uint64)0 ext:(int64)63839761446 "
            "loc:(*time.Location)<shown>}}} P:(*int64)<nil> "
            "C:(main.Inner){T:(v1.Time){Time:(time.Time){wall:(uint64)0 ext:(int64)63839761447 " + local + "}}}}")
    value = {"a": "2024-01-02T03:04:05Z", "b": {"t": "2024-01-02T03:04:06Z"}, "c": {"t": "2024-01-02T03:04:07Z"}}
    assert pod_template_dump(value, layout=compile_layout(raw)) == want


def test_every_custom_json_decoder_of_the_layout_has_a_python_counterpart() -> None:
    layout = load_layout()
    needed = decoded_custom_types(layout)
    assert needed == set(CUSTOM_DECODERS)
    check_handlers(layout)
    saved = CUSTOM_DECODERS.pop("k8s.io/apimachinery/pkg/apis/meta/v1.FieldsV1")
    try:
        with pytest.raises(DecodeError, match="FieldsV1"):
            check_handlers(layout)
    finally:
        CUSTOM_DECODERS["k8s.io/apimachinery/pkg/apis/meta/v1.FieldsV1"] = saved


@pytest.mark.parametrize(("text", "i", "dec", "s", "fmt"), [
    ("100m", (100, -3), None, "100m", "DecimalSI"),
    ("1000m", (1000, -3), None, "", "DecimalSI"),
    ("1.5", (15, -1), None, "", "DecimalSI"),
    ("2e3", (2, 3), None, "2e3", "DecimalExponent"),
    ("1Gi", (1 << 30, 0), None, "1Gi", "BinarySI"),
    ("1.5Gi", (0, 0), (False, [1610612736000000000], 9), "", "BinarySI"),
    ("0.5Ki", (0, 0), (False, [512000000000], 9), "", "BinarySI"),
    ("0.0001Ki", (0, 0), (False, [102400000], 9), "", "DecimalSI"),
    ("0e-10", (0, 0), (False, None, 10), "", "DecimalExponent"),
    ("9Ei", (0, 0), (False, [2**63 - 1], 0), "", "BinarySI"),
])
def test_quantity_internal_representation(text, i, dec, s, fmt) -> None:
    q = parse_quantity(text)
    assert (q["i"]["value"], q["i"]["scale"]) == i
    d = q["d"]["Dec"]
    assert (None if d is None else (d["unscaled"]["neg"], d["unscaled"]["abs"], d["scale"])) == dec
    assert (q["s"], q["Format"]) == (s, fmt)


@pytest.mark.parametrize(("template", "field"), [
    ({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1x"}}}]}},
     "template.spec.containers[0].resources.limits[cpu]"),
    ({"metadata": {"creationTimestamp": "yesterday"}}, "template.metadata.creationTimestamp"),
    ({"spec": {"replicas": 3, "terminationGracePeriodSeconds": "30"}}, "template.spec.terminationGracePeriodSeconds"),
    ({"spec": {"containers": [{"ports": [{"containerPort": 2**31}]}]}},
     "template.spec.containers[0].ports[0].containerPort"),
])
def test_templates_the_api_server_would_refuse_name_the_field(template, field) -> None:
    with pytest.raises(DecodeError, match=re.escape(field)):
        compute_hash(template)


def test_unknown_keys_are_ignored_and_keys_are_case_sensitive() -> None:
    base = {"spec": {"containers": [{"name": "c"}]}}
    assert compute_hash({**base, "status": {"x": 1}}) == compute_hash(base)
    assert compute_hash({"Spec": base["spec"]}) == compute_hash({})
