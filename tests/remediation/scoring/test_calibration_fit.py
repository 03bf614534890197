"""The calibrated probability: isotonic regression per category once it has enough outcomes,
the estate's fit before that, none with too few (pure rules)."""

from __future__ import annotations

import pytest

from remediation.scoring.rules import (
    CALIBRATION_FIT_MIN_OUTCOMES,
    apply_knots,
    calibrated_probability,
    calibration_fit,
    isotonic_fit,
)


def test_isotonic_fit_is_monotone_and_follows_the_outcomes():
    pairs = [(0.2, 0)] * 10 + [(0.4, 1)] * 5 + [(0.4, 0)] * 5 + [(0.6, 1)] * 20 + [(0.9, 1)] * 20
    fit = isotonic_fit(pairs)
    ys = [y for _, y in fit["knots"]]
    assert ys == sorted(ys)
    assert fit["n"] == 60
    assert apply_knots(fit["knots"], 0.2) < 0.2  # always failed: well below the score
    assert apply_knots(fit["knots"], 0.6) > 0.9  # always succeeded: well above it
    assert 0.4 < apply_knots(fit["knots"], 0.4) < 0.6


def test_a_violating_pair_is_pooled():
    fit = isotonic_fit([(0.3, 1)] * 4 + [(0.7, 0)] * 4)
    ys = {y for _, y in fit["knots"]}
    assert len(ys) == 1 and ys.pop() == pytest.approx(0.5)


def test_low_scores_that_all_succeed_are_mapped_up():
    # the young-pattern problem: scored 30-60, succeeded anyway
    fit = isotonic_fit([(x / 100, 1) for x in range(30, 60)] + [(0.95, 1)] * 10)
    assert apply_knots(fit["knots"], 0.4) > 0.9


def test_per_category_once_it_has_enough_else_the_estate():
    enough = [(0.5, 1)] * CALIBRATION_FIT_MIN_OUTCOMES
    few = [(0.5, 0)] * 5
    fit = calibration_fit({"server": enough, "storage": few})
    assert set(fit["categories"]) == {"server"}
    assert fit["estate"]["n"] == CALIBRATION_FIT_MIN_OUTCOMES + 5
    server = calibrated_probability(fit, version=3, category="server", score=50.0)
    storage = calibrated_probability(fit, version=3, category="storage", score=50.0)
    assert server is not None and server.basis == "category"
    assert "v3" in server.explanation and "category server" in server.explanation
    assert storage is not None and storage.basis == "estate"
    assert storage.probability < server.probability


def test_no_fit_with_too_few_outcomes_in_the_estate():
    fit = calibration_fit({"server": [(0.5, 1)] * 3})
    assert fit["estate"] is None and fit["categories"] == {}
    assert calibrated_probability(fit, version=1, category="server", score=50.0) is None
    assert calibrated_probability(None, version=None, category="server", score=50.0) is None


def test_no_score_no_probability():
    fit = calibration_fit({"server": [(0.5, 1)] * 30})
    assert calibrated_probability(fit, version=1, category="server", score=None) is None
    assert calibrated_probability(fit, version=1, category="server", score=float("nan")) is None
