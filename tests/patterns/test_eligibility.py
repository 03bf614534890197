"""Pattern eligibility: every threshold, and enabled, must hold."""

from __future__ import annotations

import pytest

from patterns.rules.eligibility import PatternStats, Thresholds, is_eligible

T = Thresholds(
    min_occurrences=5, min_positive_rate=0.85, min_reliability=85.0, min_success_rate=0.85
)
GOOD = PatternStats(
    occurrence_count=5,
    positive_outcome_rate=0.85,
    avg_reliability_score=85.0,
    auto_remediation_success_rate=0.85,
)


def test_a_pattern_exactly_at_every_threshold_is_eligible():
    eligible, reasons = is_eligible(GOOD, T)
    assert eligible
    assert len(reasons) == 4


def test_a_rate_equal_to_its_threshold_after_float_division_is_eligible():
    stats = PatternStats(20, 17 / 20, 85.0, 17 / 20)
    assert is_eligible(stats, T)[0]


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"occurrence_count": 4}, "Seen 4 times"),
        ({"positive_outcome_rate": 0.84}, "Positive outcomes"),
        ({"avg_reliability_score": 84.9}, "Average reliability"),
        ({"auto_remediation_success_rate": 0.8}, "Remediation success rate"),
        ({"enabled": False}, "disabled"),
    ],
)
def test_any_unmet_condition_makes_it_ineligible_and_is_named(change, word):
    stats = PatternStats(**{**GOOD.__dict__, **change})
    eligible, reasons = is_eligible(stats, T)
    assert not eligible
    assert len(reasons) == 1
    assert word in reasons[0]


def test_no_evidence_is_not_eligible():
    eligible, reasons = is_eligible(PatternStats(0, 0.0, 0.0, 0.0), T)
    assert not eligible
    assert len(reasons) == 4
