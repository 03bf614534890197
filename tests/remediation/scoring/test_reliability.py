"""The pure reliability score: formulas, no-data reporting and properties (no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediation.scoring.rules import (
    FEEDBACK_HALF_LIFE_DAYS,
    PATTERN_MIN_CONCLUDED_TICKETS,
    PATTERN_POSITIVE_FEEDBACK_BOOST,
    WEIGHT_AI_CONFIDENCE,
    Component,
    ConfidenceLevel,
    FeedbackDay,
    FeedbackFacts,
    PatternFacts,
    ReliabilityInputs,
    SuccessFacts,
    breakdown_dict,
    combine,
    compute_reliability,
    confidence_level,
    recency_weight,
    weigh_feedback,
)

TODAY = date(2026, 11, 26)

scores = st.floats(min_value=0, max_value=100, allow_nan=False)
counts = st.integers(min_value=0, max_value=10_000)


def test_the_documented_example_scores_87_4_by_the_formula():
    # 0.25*92 + 0.30*85 + 0.25*90 + 0.20*82 = 87.4 (the design prints 87.5; the formula wins).
    assert combine(92, 85, 90, 82) == 87.4


def test_it_builds_the_breakdown_the_api_shows_from_facts():
    result = compute_reliability(
        ReliabilityInputs(
            ai_confidence=0.92,
            # positive rate 0.7, average rating 5.0 -> (70 + 100) / 2 = 85
            feedback=FeedbackFacts(weighted_count=10, weighted_positive=7, weighted_rating_sum=50),
            success=SuccessFacts(success=9, failure=1),
            pattern=PatternFacts(similarity=0.82, success_count=10, failure_count=0),
        )
    )
    assert breakdown_dict(result) == {
        "overall_score": 87.4,
        "confidence_level": "high",
        "breakdown": {
            "ai_confidence": "92%",
            "human_validation": "85%",
            "success_history": "90%",
            "pattern_recognition": "82%",
        },
        "notes": {},
        # Without a calibration history the AI factor is the analyzer's own confidence.
        "ai_confidence_calibrated": False,
        "ai_confidence_raw": 0.92,
    }
    assert all(c.has_data for c in result.components)


def test_a_component_without_data_scores_zero_and_says_so():
    result = compute_reliability(ReliabilityInputs(ai_confidence=0.8))
    out = breakdown_dict(result)
    assert result.overall_score == 20.0
    assert out["confidence_level"] == "low"
    assert out["breakdown"] == {
        "ai_confidence": "80%",
        "human_validation": "0%",
        "success_history": "0%",
        "pattern_recognition": "0%",
    }
    assert set(out["notes"]) == {"human_validation", "success_history", "pattern_recognition"}
    assert not result.component(Component.SUCCESS_HISTORY).has_data
    assert "180 days" in result.component(Component.SUCCESS_HISTORY).note


def test_no_ai_confidence_is_reported_as_no_data():
    result = compute_reliability(ReliabilityInputs(ai_confidence=None))
    assert result.overall_score == 0.0
    assert not result.component(Component.AI_CONFIDENCE).has_data
    assert "ai_confidence" in breakdown_dict(result)["notes"]


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (100, ConfidenceLevel.VERY_HIGH),
        (90, ConfidenceLevel.VERY_HIGH),
        (89.99, ConfidenceLevel.HIGH),
        (75, ConfidenceLevel.HIGH),
        (74.99, ConfidenceLevel.MEDIUM),
        (60, ConfidenceLevel.MEDIUM),
        (59.99, ConfidenceLevel.LOW),
        (0, ConfidenceLevel.LOW),
    ],
)
def test_confidence_levels_follow_their_score_thresholds(score, level):
    assert confidence_level(score) == level


def test_feedback_weight_halves_every_thirty_days():
    assert recency_weight(0) == 1.0
    assert recency_weight(FEEDBACK_HALF_LIFE_DAYS) == pytest.approx(0.5)
    assert recency_weight(2 * FEEDBACK_HALF_LIFE_DAYS) == pytest.approx(0.25)
    assert recency_weight(-5) == 1.0  # a day in the future counts as today


def test_recent_feedback_outweighs_old_feedback():
    # One negative (rating 1) today, one positive (rating 5) 60 days ago: weights 1 and 0.25.
    facts = weigh_feedback(
        [
            FeedbackDay(day=TODAY, count=1, positive=0, rating_sum=1),
            FeedbackDay(day=TODAY - timedelta(days=60), count=1, positive=1, rating_sum=5),
        ],
        today=TODAY,
    )
    assert facts.weighted_count == pytest.approx(1.25)
    assert facts.weighted_positive == pytest.approx(0.25)
    assert facts.weighted_rating_sum == pytest.approx(1 + 5 * 0.25)
    score = compute_reliability(ReliabilityInputs(ai_confidence=None, feedback=facts))
    feedback = score.component(Component.HUMAN_VALIDATION)
    # positive rate 0.2, average rating 1.8 -> (20 + 36) / 2 = 28, well under the unweighted 60
    assert feedback.score == pytest.approx(28.0)


def test_success_history_is_the_success_share_of_concluded_tickets():
    result = compute_reliability(
        ReliabilityInputs(ai_confidence=None, success=SuccessFacts(success=3, failure=1))
    )
    assert result.component(Component.SUCCESS_HISTORY).score == 75.0


def test_pattern_match_needs_three_concluded_tickets():
    few = PatternFacts(
        similarity=1.0, success_count=PATTERN_MIN_CONCLUDED_TICKETS - 1, failure_count=0
    )
    enough = PatternFacts(similarity=1.0, success_count=2, failure_count=1)
    low = compute_reliability(ReliabilityInputs(ai_confidence=None, pattern=few))
    high = compute_reliability(ReliabilityInputs(ai_confidence=None, pattern=enough))
    assert not low.component(Component.PATTERN_RECOGNITION).has_data
    assert "at least 3" in low.component(Component.PATTERN_RECOGNITION).note
    assert high.component(Component.PATTERN_RECOGNITION).score == pytest.approx(200 / 3)


def test_positive_pattern_feedback_boosts_the_match_and_the_boost_is_capped():
    plain = PatternFacts(similarity=0.5, success_count=4, failure_count=0)
    liked = PatternFacts(
        similarity=0.5, success_count=4, failure_count=0, positive_feedback_count=3
    )
    perfect = PatternFacts(
        similarity=1.0, success_count=4, failure_count=0, positive_feedback_count=3
    )
    disliked = PatternFacts(
        similarity=0.5,
        success_count=4,
        failure_count=0,
        positive_feedback_count=1,
        negative_feedback_count=1,
    )

    def match(p):
        return (
            compute_reliability(ReliabilityInputs(ai_confidence=None, pattern=p))
            .component(Component.PATTERN_RECOGNITION)
            .score
        )

    assert match(plain) == pytest.approx(50.0)
    assert match(liked) == pytest.approx(50.0 * PATTERN_POSITIVE_FEEDBACK_BOOST)
    assert match(perfect) == 100.0
    assert match(disliked) == pytest.approx(50.0)


@given(
    ai=st.one_of(st.none(), st.floats(min_value=-1, max_value=2, allow_nan=False)),
    wc=st.floats(min_value=0, max_value=1e6),
    wp_share=st.floats(min_value=0, max_value=1),
    rating=st.floats(min_value=1, max_value=5),
    success=counts,
    failure=counts,
    similarity=st.floats(min_value=-1, max_value=2, allow_nan=False),
    p_success=counts,
    p_failure=counts,
    positive=counts,
    negative=counts,
)
def test_the_score_always_lies_between_0_and_100(
    ai, wc, wp_share, rating, success, failure, similarity, p_success, p_failure, positive, negative
):
    result = compute_reliability(
        ReliabilityInputs(
            ai_confidence=ai,
            feedback=FeedbackFacts(wc, wc * wp_share, wc * rating),
            success=SuccessFacts(success, failure),
            pattern=PatternFacts(similarity, p_success, p_failure, positive, negative),
        )
    )
    assert 0 <= result.overall_score <= 100
    assert all(0 <= c.score <= 100 for c in result.components)
    assert result.confidence_level == confidence_level(result.overall_score)


@given(
    base=st.tuples(scores, scores, scores, scores),
    which=st.integers(min_value=0, max_value=3),
    rise=st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_the_score_never_falls_when_one_component_rises(base, which, rise):
    raised = list(base)
    raised[which] = min(100.0, raised[which] + rise)
    assert combine(*raised) >= combine(*base)


@given(
    ai=st.floats(min_value=0, max_value=1, allow_nan=False),
    lower=st.floats(min_value=0, max_value=1, allow_nan=False),
)
def test_a_higher_ai_confidence_never_lowers_the_score(ai, lower):
    low, high = sorted((ai, lower))
    assert (
        compute_reliability(ReliabilityInputs(ai_confidence=high)).overall_score
        >= compute_reliability(ReliabilityInputs(ai_confidence=low)).overall_score
    )


@given(ai=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_ai_confidence_alone_can_never_exceed_25(ai):
    result = compute_reliability(ReliabilityInputs(ai_confidence=ai))
    assert result.overall_score <= WEIGHT_AI_CONFIDENCE * 100
    assert result.confidence_level == ConfidenceLevel.LOW
