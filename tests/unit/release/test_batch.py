import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollouts.release.batch import (
    batch_target,
    desired_partition,
    failure_tolerance,
    is_current_more_than_or_equal_to_desired,
    new_rs_replicas_limit,
    parse_integer_as_percentage_if_possible,
    planned_batch_replicas,
    planned_per_batch,
)
from rollouts.release.intstr import IntOrStrError, scaled_value


@pytest.mark.parametrize(
    "canary, replicas, expected",
    [
        (5, 10, 5),
        ("20%", 10, 2),
        ("100%", 10, 10),
        ("200%", 10, 10),
        (200, 10, 10),
        (0, 10, 0),
        ("11%", 10, 2),
        ("1%", 10, 1),
        ("50%", 10, 5),
        ("50%", 20, 10),  # HPA scaled 10 -> 20 mid-release at 50%
        ("50%", 0, 0),
        (None, 10, 0),
    ],
)
def test_planned_batch_replicas_upstream_table(canary, replicas, expected):
    assert planned_batch_replicas(canary, replicas) == expected


def test_seed_plan_10_replicas():
    assert planned_per_batch([1, "50%", "100%"], 10) == [1, 5, 10]


def test_seed_plan_after_scale_to_20():
    assert planned_per_batch([1, "50%", "100%"], 20) == [1, 10, 20]


@pytest.mark.parametrize(
    "partition, replicas, expected",
    [
        (1, 10, 1),
        ("50%", 10, 5),
        ("100%", 10, 10),
        ("99%", 10, 9),  # percentages other than 100% keep one old pod
        ("95%", 10, 9),
        (10, 10, 10),  # integers are not capped
        ("50%", 1, 1),  # single replica: no cap
        (0, 10, 0),
    ],
)
def test_new_rs_replicas_limit(partition, replicas, expected):
    assert new_rs_replicas_limit(partition, replicas) == expected


@pytest.mark.parametrize(
    "threshold, updated, expected",
    [(None, 5, 0), (1, 5, 1), ("60%", 4, 3), ("20%", 5, 1), ("10%", 5, 1), (100, 5, 100)],
)
def test_failure_tolerance(threshold, updated, expected):
    assert failure_tolerance(threshold, updated) == expected


@pytest.mark.parametrize(
    "current, desired, expected",
    [(2, 1, True), (2, 2, True), (2, 3, False), ("80%", "79%", True), ("80%", "80%", True), ("90%", "91%", False)],
)
def test_is_current_more_than_or_equal_to_desired(current, desired, expected):
    assert is_current_more_than_or_equal_to_desired(current, desired) is expected


@pytest.mark.parametrize(
    "stable, all_, expected",
    [(0, 10, "0%"), (10, 10, "100%"), (5, 10, "50%"), (1, 100, "1%"), (1, 1000, "1%"), (3, 7, "42%")],
)
def test_parse_integer_as_percentage(stable, all_, expected):
    assert parse_integer_as_percentage_if_possible(stable, all_, "50%") == expected


@given(all_=st.integers(1, 10000), percent=st.integers(0, 100))
def test_percentage_partition_property(all_, percent):
    stable = all_ - scaled_value(f"{percent}%", all_, round_up=True)
    result = parse_integer_as_percentage_if_possible(stable, all_, f"{percent}%")
    restored = scaled_value(result, all_, round_up=True)
    if percent == 0:
        assert restored == all_
    elif percent == 100:
        assert restored == 0
    else:
        assert restored <= all_
        if result != "1%":
            # never fewer updated pods than planned, and off by less than 1% of all
            assert restored <= stable
            assert stable - restored < all_ / 100 + 1


def test_batch_target_no_need_update_cloneset_example():
    t = batch_target("20%", 20, no_need_update=10)
    assert (t.planned, t.desired_stable, t.desired_update) == (2, 8, 12)
    assert desired_partition("20%", 20, no_need_update=10) == "40%"
    assert desired_partition("20%", 20) == "80%"
    assert desired_partition(3, 20) == 17


def test_batch_target_ordered_statefulset():
    t = batch_target("20%", 20, no_need_update=10, ordered=True)
    assert (t.desired_stable, t.desired_update) == (18, 12)


@given(
    replicas=st.integers(0, 5000), canary=st.one_of(st.integers(0, 6000), st.integers(0, 300).map(lambda p: f"{p}%"))
)
def test_planned_is_clamped_and_monotonic(replicas, canary):
    planned = planned_batch_replicas(canary, replicas)
    assert 0 <= planned <= replicas
    assert planned_batch_replicas(canary, replicas + 1) >= planned
    t = batch_target(canary, replicas)
    assert t.desired_stable + t.desired_update == replicas


@given(replicas=st.integers(0, 2000), a=st.integers(0, 100), b=st.integers(0, 100))
def test_percent_steps_are_monotonic(replicas, a, b):
    lo, hi = sorted((a, b))
    assert planned_batch_replicas(f"{lo}%", replicas) <= planned_batch_replicas(f"{hi}%", replicas)


def test_invalid_int_or_string():
    with pytest.raises(IntOrStrError):
        planned_batch_replicas("5", 10)
    with pytest.raises(IntOrStrError):
        planned_batch_replicas("x%", 10)
