"""ObjectMeta is read through one module (rollouts/objects/meta.py), whose empty answers are read-only."""

from __future__ import annotations

import pytest

from rollouts.controllers import common
from rollouts.objects import meta


def test_the_controllers_have_no_second_copy_of_the_metadata_accessors() -> None:
    for name in ("meta", "labels", "annotations_of", "is_deleting"):
        assert name not in vars(common) or vars(common)[name] is getattr(meta, "metadata" if name == "meta" else name)


@pytest.mark.parametrize("obj", [None, {}, {"metadata": None}, {"metadata": {"labels": None, "annotations": None}}])
def test_an_absent_section_is_an_empty_mapping_nobody_can_fill_in(obj: dict | None) -> None:
    sections = [meta.labels(obj), meta.annotations_of(obj)]
    if not (obj or {}).get("metadata"):
        sections.append(meta.metadata(obj))
    for section in sections:
        assert section == {}
        with pytest.raises(TypeError):
            section["leak"] = "x"  # type: ignore[index]
    assert meta.labels({"metadata": {}}) == {}  # still empty for the next object


def test_present_sections_are_the_objects_own() -> None:
    obj = {"metadata": {"name": "n", "labels": {"a": "b"}, "annotations": {"c": "d"},
                        "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    assert meta.labels(obj) is obj["metadata"]["labels"] and meta.annotations_of(obj) == {"c": "d"}
    assert meta.is_deleting(obj) and not meta.is_deleting({"metadata": {"deletionTimestamp": None}})
