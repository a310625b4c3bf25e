"""The BatchRelease status model helpers (``batchrelease/brstatus.py``, ``edit.replace_fields``)."""

from __future__ import annotations

import asyncio

from rollouts.api.edit import edit_count, replace_fields, set_field
from rollouts.api.wire import to_dict
from rollouts.controllers.batchrelease import brstatus

MID = {"phase": "Progressing", "message": "m", "x-unknown": 1,
       "canaryStatus": {"currentBatch": 1, "batchState": "Ready", "batchReadyTime": "2026-01-01T00:00:00Z"}}


def test_replace_fields_is_clear_then_update_and_counts() -> None:
    st, before = brstatus.decode(MID), edit_count()
    replace_fields(st, brstatus.decode({"phase": "Preparing", "canaryStatus": {}}))
    assert to_dict(st) == {"phase": "Preparing", "canaryStatus": {}}  # unknown keys go too, as with dict.clear()
    assert edit_count() > before


def test_reset_writes_the_initial_literal() -> None:
    st = brstatus.decode(MID)
    brstatus.reset(st)
    assert to_dict(st) == {"phase": "Preparing", "stableRevision": "", "updateRevision": "",
                           "observedReleasePlanHash": "", "observedWorkloadReplicas": -1,
                           "canaryStatus": {"currentBatch": 0}}


def test_encode_skips_an_unedited_status_and_encodes_an_edited_one() -> None:
    st, mark = brstatus.decode(MID), edit_count()
    assert brstatus.encode(st, MID, mark) is MID
    set_field(st, "phase", "Finalizing")
    assert brstatus.encode(st, MID, mark) == {**MID, "phase": "Finalizing"}


def test_drop_pops_present_keys_and_leaves_absent_ones_unedited() -> None:
    st = brstatus.decode(MID)
    brstatus.drop(st.canary_status, "batch_ready_time")
    mark = edit_count()
    brstatus.drop(st.canary_status, "batch_ready_time")
    brstatus.drop(st, "conditions")
    assert edit_count() == mark
    assert to_dict(st)["canaryStatus"] == {"currentBatch": 1, "batchState": "Ready"}


def test_dict_adapter_edits_a_wire_dict_in_place() -> None:
    class Control:
        @brstatus.dict_adapter
        async def initialize(self, st: brstatus.BatchReleaseStatus) -> bool:
            brstatus.record_revisions(st, "s", "", 0)
            return True

    status = {"phase": "Preparing", "x-unknown": 1}
    assert asyncio.run(Control().initialize(status))
    assert status == {"phase": "Preparing", "x-unknown": 1, "stableRevision": "s", "updateRevision": "",
                      "observedWorkloadReplicas": 0}
