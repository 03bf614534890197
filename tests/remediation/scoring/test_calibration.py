"""The pure calibration figures (reliability diagram, ECE, Brier) and the calibrated AI
factor of the reliability score, checked against numbers computed by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediation.scoring.rules import (
    CALIBRATION_MIN_BIN_OUTCOMES,
    BinTotals,
    Component,
    ConfidenceHistory,
    ReliabilityInputs,
    bin_index,
    breakdown_dict,
    calibrated_confidence,
    calibration_report,
    compute_reliability,
    empty_totals,
    report_from_totals,
)

# Ten (prediction, outcome) pairs in four of the ten bins. By hand:
#   bin 0 [0.0, 0.1): 0.0->0                          n=1  mean 0      rate 0     |gap| 0
#   bin 2 [0.2, 0.3): 0.2->0, 0.25->1                 n=2  mean 0.225  rate 0.5   |gap| 0.275
#   bin 7 [0.7, 0.8): 0.7->1, 0.7->1, 0.75->1, 0.75->0 n=4 mean 0.725  rate 0.75  |gap| 0.025
#   bin 9 [0.9, 1.0]: 0.9->1, 1.0->1, 0.95->1         n=3  mean 0.95   rate 1     |gap| 0.05
# ECE = 1/10*0 + 2/10*0.275 + 4/10*0.025 + 3/10*0.05 = 0 + 0.055 + 0.01 + 0.015 = 0.08
# Squared errors: 0, 0.04, 0.5625, 0.09, 0.09, 0.0625, 0.5625, 0.01, 0, 0.0025 = 1.42
# Brier = 1.42 / 10 = 0.142
PAIRS = [
    (0.0, 0),
    (0.2, 0),
    (0.25, 1),
    (0.7, 1),
    (0.7, 1),
    (0.75, 1),
    (0.75, 0),
    (0.9, 1),
    (1.0, 1),
    (0.95, 1),
]


def test_the_hand_computed_case():
    report = calibration_report(PAIRS)
    assert report.count == 10
    assert report.ece == 0.08
    assert report.brier == 0.142
    assert len(report.bins) == 10
    filled = {
        k: (b.count, b.mean_predicted, b.observed_rate)
        for k, b in enumerate(report.bins)
        if b.count
    }
    assert filled == {
        0: (1, 0.0, 0.0),
        2: (2, 0.225, 0.5),
        7: (4, 0.725, 0.75),
        9: (3, 0.95, 1.0),
    }
    empty = report.bins[5]
    assert (empty.lower, empty.upper, empty.count) == (0.5, 0.6, 0)
    assert empty.mean_predicted is None and empty.observed_rate is None
    assert [(b.lower, b.upper) for b in report.bins][:2] == [(0.0, 0.1), (0.1, 0.2)]
    assert report.bins[-1].upper == 1.0


def test_grouped_sums_give_the_same_figures_as_the_pairs():
    # What the database hands over: per bin and outcome, a count, sum p and sum p^2.
    totals = empty_totals()
    groups: dict[tuple[int, bool], list[float]] = {}
    for p, y in PAIRS:
        groups.setdefault((bin_index(p), bool(y)), []).append(p)
    for (k, success), ps in groups.items():
        totals[k].add(
            success=success,
            count=len(ps),
            sum_predicted=sum(ps),
            sum_squared=sum(p * p for p in ps),
        )
    assert report_from_totals(totals) == calibration_report(PAIRS)


def test_no_outcomes_gives_no_figures_not_zero():
    report = calibration_report([])
    assert (report.count, report.ece, report.brier) == (0, None, None)
    assert all(b.count == 0 for b in report.bins)


def test_edges_belong_to_the_bin_above_and_1_to_the_last():
    assert [bin_index(p) for p in (0.0, 0.1, 0.2, 0.3, 0.7, 0.9, 0.99, 1.0)] == [
        0,
        1,
        2,
        3,
        7,
        9,
        9,
        9,
    ]
    assert bin_index(-0.5) == 0
    assert bin_index(1.5) == 9


def test_out_of_range_predictions_are_clamped_and_nan_left_out():
    report = calibration_report([(1.7, 1), (-0.2, 0), (math.nan, 1)])
    assert report.count == 2
    assert (report.ece, report.brier) == (0.0, 0.0)


def test_perfect_and_worst_predictions():
    assert calibration_report([(1.0, 1), (0.0, 0)]).brier == 0.0
    worst = calibration_report([(1.0, 0), (0.0, 1)])
    assert (worst.ece, worst.brier) == (1.0, 1.0)


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=1), st.integers(min_value=0, max_value=1)),
        max_size=200,
    )
)
def test_figures_stay_in_range_and_counts_add_up(pairs):
    report = calibration_report(pairs)
    assert report.count == len(pairs) == sum(b.count for b in report.bins)
    if pairs:
        assert report.ece is not None and report.brier is not None
        assert 0 <= report.ece <= 1
        assert 0 <= report.brier <= 1


def test_bin_totals_merge_adds_everything():
    a, b = BinTotals(), BinTotals()
    a.add(success=True, count=2, sum_predicted=1.6, sum_squared=1.28)
    b.add(success=False, count=1, sum_predicted=0.5, sum_squared=0.25)
    a.merge(b)
    assert (a.count, a.successes) == (3, 2)
    assert a.sum_predicted == pytest.approx(2.1)
    # 2 x (0.8 - 1)^2 + (0.5 - 0)^2 = 0.08 + 0.25
    assert a.sum_squared_error == pytest.approx(0.33)


# --- The calibrated AI factor -------------------------------------------------------------

ENOUGH = ConfidenceHistory(outcomes=30, bin_outcomes=10, bin_successes=6, min_outcomes=30)


def test_past_the_minimum_the_ai_factor_is_the_bins_observed_rate_and_says_so():
    result = compute_reliability(ReliabilityInputs(ai_confidence=0.85, confidence_history=ENOUGH))
    ai = result.component(Component.AI_CONFIDENCE)
    assert ai.score == 60.0  # 6 of 10 succeeded
    assert ai.calibrated and ai.raw == 0.85
    assert result.overall_score == 15.0  # 0.25 x 60
    out = breakdown_dict(result)
    assert out["breakdown"]["ai_confidence"] == "60%"
    assert out["ai_confidence_calibrated"] is True
    assert out["ai_confidence_raw"] == 0.85
    assert "85%" in out["ai_confidence_calibration"]
    assert "6 of 10" in out["ai_confidence_calibration"]
    assert "80%-90%" in out["ai_confidence_calibration"]
    assert out["notes"] == {
        "human_validation": "No feedback in this category yet.",
        "success_history": "No concluded tickets in this category in the last 180 days.",
        "pattern_recognition": "No matching pattern.",
    }


@pytest.mark.parametrize(
    "history",
    [
        None,
        ConfidenceHistory(outcomes=29, bin_outcomes=10, bin_successes=6, min_outcomes=30),
        ConfidenceHistory(
            outcomes=100,
            bin_outcomes=CALIBRATION_MIN_BIN_OUTCOMES - 1,
            bin_successes=0,
            min_outcomes=30,
        ),
    ],
    ids=["no history", "one outcome short of the minimum", "a sparse bin"],
)
def test_short_of_the_minimum_or_in_a_sparse_bin_the_raw_confidence_counts(history):
    result = compute_reliability(ReliabilityInputs(ai_confidence=0.85, confidence_history=history))
    ai = result.component(Component.AI_CONFIDENCE)
    assert ai.score == 85.0
    assert not ai.calibrated
    out = breakdown_dict(result)
    assert out["ai_confidence_calibrated"] is False
    assert out["ai_confidence_raw"] == 0.85
    assert "ai_confidence_calibration" not in out


def test_calibrated_confidence_needs_both_minimums():
    assert calibrated_confidence(0.5, ENOUGH) == 0.6
    assert calibrated_confidence(0.5, None) is None
    assert (
        calibrated_confidence(
            0.5,
            ConfidenceHistory(
                outcomes=30,
                bin_outcomes=CALIBRATION_MIN_BIN_OUTCOMES,
                bin_successes=CALIBRATION_MIN_BIN_OUTCOMES,
                min_outcomes=30,
            ),
        )
        == 1.0
    )


def test_no_confidence_stays_no_data_even_with_history():
    result = compute_reliability(ReliabilityInputs(ai_confidence=None, confidence_history=ENOUGH))
    out = breakdown_dict(result)
    assert result.overall_score == 0.0
    assert out["ai_confidence_calibrated"] is False
    assert out["ai_confidence_raw"] is None
    assert "ai_confidence" in out["notes"]
