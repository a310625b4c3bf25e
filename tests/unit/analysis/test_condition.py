"""The condition language: comparisons of ``result`` with numbers, joined by && / ||; never eval."""

import pytest

from rollouts.analysis.condition import ConditionError, parse


@pytest.mark.parametrize(("text", "value", "holds"), [
    ("result < 0.05", 0.01, True),
    ("result < 0.05", 0.05, False),
    ("result <= 0.05", 0.05, True),
    ("0.5 > result", 0.2, True),
    ("result >= 10 && result < 20", 15, True),
    ("result >= 10 && result < 20", 25, False),
    ("result < 1 || result > 9", 10, True),
    ("result < 1 or result > 9", 5, False),
    ("(result < 1 || result > 9) and result != 10", 10, False),
    ("result == 0", 0.0, True),
    ("result != 0", 0.0, False),
    ("result > -1e-3", 0.0, True),
])
def test_conditions_hold_as_written(text: str, value: float, holds: bool) -> None:
    assert parse(text).holds(float(value)) is holds


@pytest.mark.parametrize(("text", "says"), [
    ("", "empty"),
    ('result < "5%"', "not a number"),
    ("result < high", "'high' is not a number"),
    ("result", "ends too early"),
    ("result = 1", "expected a comparison"),
    ("1 < 2", "does not use 'result'"),
    ("(result < 1", "not closed"),
    ("result < 1 result > 2", "join comparisons"),
    ("result < nan", "finite"),
    ("__import__('os').system('x')", "not a number"),
])
def test_bad_conditions_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ConditionError, match=says):
        parse(text)
