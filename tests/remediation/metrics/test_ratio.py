"""``remediation.rules``: the one ratio, its "no data", and the two success rates."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from remediation.rules import (
    NO_DATA,
    RATE_DECIMALS,
    execution_success_rate,
    mean,
    outcome_success_rate,
    percent,
    ratio,
    rollback_rate,
)


@pytest.mark.parametrize("part", [0, 3, 0.0])
def test_nothing_to_divide_by_is_none_not_zero(part):
    assert ratio(part, 0) is None
    assert ratio(part, 0.0) is None


def test_a_share_of_something():
    assert ratio(0, 5) == 0.0
    assert ratio(5, 5) == 1.0
    assert ratio(2, 3) == round(2 / 3, RATE_DECIMALS) == 0.6667
    assert ratio(1, 3, 2) == 0.33
    assert ratio(1, 3, None) == 1 / 3  # unrounded, for a threshold


@pytest.mark.parametrize(("part", "whole"), [(1, 10**6), (999_999, 10**6), (7, 9), (1, 1)])
def test_bounds(part, whole):
    r = ratio(part, whole)
    assert r is not None and 0.0 <= r <= 1.0


@pytest.mark.parametrize(("part", "whole"), [(-1, 3), (1, -3), (4, 3)])
def test_a_share_outside_0_1_is_a_counting_error(part, whole):
    with pytest.raises(ValueError):
        ratio(part, whole)


@pytest.mark.parametrize("bad", [True, False, None, "1", [1]])
def test_only_numbers(bad):
    with pytest.raises(TypeError):
        ratio(bad, 2)
    with pytest.raises(TypeError):
        ratio(1, bad)


def test_other_numbers_are_numbers():
    assert ratio(Fraction(1, 2), 1) == 0.5
    assert ratio(Decimal(1), 4) == 0.25
    assert isinstance(ratio(1, 4), float)


def test_mean():
    assert mean(10, 0) is None
    assert mean(10, 4) == 2.5
    assert mean(1, 3, 1) == 0.3
    with pytest.raises(ValueError):
        mean(1, -1)
    with pytest.raises(TypeError):
        mean(True, 1)


def test_execution_success_is_of_concluded_executions():
    assert execution_success_rate(3, 1, 1) == 0.6
    assert rollback_rate(3, 1, 1) == 0.2
    assert execution_success_rate(0, 0, 0) is None
    assert rollback_rate(0, 0, 0) is None
    assert execution_success_rate(0, 2, 0) == 0.0  # data, and none succeeded: 0, not None


def test_outcome_success_is_of_concluded_outcomes():
    assert outcome_success_rate(2, 3) == 0.4
    assert outcome_success_rate(0, 0) is None
    assert outcome_success_rate(0, 1) == 0.0


def test_a_page_writes_none_as_no_data():
    assert percent(None) == NO_DATA == "no data"
    assert percent(0.0) == "0%"
    assert percent(0.6667) == "67%"
    assert percent(1.0) == "100%"
