"""Issue 10 item 4: the release arithmetic uses the model's IntOrString, not a second implementation."""

from __future__ import annotations

import pytest

from rollouts.api import intstr as api_intstr
from rollouts.api.intstr import IntOrStrError, IntOrString
from rollouts.release import intstr as release_intstr
from rollouts.release.batch import (
    desired_partition,
    failure_tolerance,
    new_rs_replicas_limit,
    parse_integer_as_percentage_if_possible,
    planned_batch_replicas,
)
from rollouts.release.deployment_rs import resolve_fenceposts


def test_release_module_only_re_exports_the_model_arithmetic() -> None:
    assert release_intstr.scaled_value is api_intstr.scaled_value
    assert release_intstr.IntOrStrError is api_intstr.IntOrStrError
    assert issubclass(IntOrStrError, ValueError)


@pytest.mark.parametrize("raw", [1, "50%", "99%", "100%", 0, "0%"])
def test_batch_arithmetic_accepts_the_model_and_its_wire_form_alike(raw: int | str) -> None:
    model = IntOrString(raw)
    assert planned_batch_replicas(model, 10) == planned_batch_replicas(raw, 10)
    assert new_rs_replicas_limit(model, 10) == new_rs_replicas_limit(raw, 10)
    assert desired_partition(model, 10) == desired_partition(raw, 10)
    assert failure_tolerance(model, 7) == failure_tolerance(raw, 7)
    assert parse_integer_as_percentage_if_possible(0, 10, model) == parse_integer_as_percentage_if_possible(0, 10, raw)


def test_a_percentage_other_than_100_never_updates_every_pod_even_as_a_model() -> None:
    assert new_rs_replicas_limit(IntOrString("99%"), 10) == 9
    assert new_rs_replicas_limit(IntOrString("100%"), 10) == 10
    assert desired_partition(IntOrString("20%"), 20) == "80%"


@pytest.mark.parametrize("bad", [" 5%", "5 %", "1_0%", "٥%", True])
def test_percentages_parse_like_go_atoi_everywhere(bad: object) -> None:
    """The release copy used ``int()``, which accepts spaces, underscores and non-ASCII digits."""
    with pytest.raises(IntOrStrError):
        planned_batch_replicas(bad, 10)  # type: ignore[arg-type]
    with pytest.raises(IntOrStrError):
        resolve_fenceposts(bad, "25%", 10)  # type: ignore[arg-type]
