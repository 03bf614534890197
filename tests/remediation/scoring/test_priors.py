"""No data is not zero: a component with no record of its own takes the estate's record for
the same cause and operation, shrunk level by level (pure rules)."""

from __future__ import annotations

import pytest

from remediation.scoring.rules import (
    CATEGORY_MIN_RECORD,
    PRIOR_STRENGTH,
    Component,
    FeedbackFacts,
    PatternFacts,
    Prior,
    ReliabilityInputs,
    SuccessFacts,
    breakdown_dict,
    compute_reliability,
    feedback_component,
    pattern_component,
    prior_for,
    shrink,
    success_component,
)

PRIORS = {
    "estate": [18, 2],
    "operations": {"restart_vm": [9, 0], "expand_volume": [1, 2]},
    "causes": {"hung|restart_vm": [6, 0]},
}


def test_shrink_is_the_beta_posterior_mean():
    assert shrink(0, 0, 0.7) == pytest.approx(0.7)  # no record: the prior itself
    assert shrink(3, 1, 0.5, strength=2) == pytest.approx((3 + 1) / (4 + 2))
    # the record takes over as it accrues
    assert abs(shrink(100, 0, 0.5) - 1.0) < 0.03


def test_no_outcome_anywhere_gives_no_prior():
    assert prior_for(None, cause="hung", operation="restart_vm") is None
    assert prior_for({"estate": [0, 0]}, cause="hung", operation="restart_vm") is None


def test_the_prior_chains_estate_operation_and_cause():
    estate = (18 + 1) / (20 + 2)
    op = shrink(9, 0, estate)
    cause = shrink(6, 0, op)
    prior = prior_for(PRIORS, cause="hung", operation="restart_vm")
    assert prior is not None
    assert prior.mean == pytest.approx(cause, abs=1e-4)
    assert "hung fixed by restart_vm elsewhere 6/6" in prior.source
    assert "restart_vm in the estate 9/9" in prior.source
    # an operation that often fails gives a lower prior than the estate's
    low = prior_for(PRIORS, cause="data_growth", operation="expand_volume")
    assert low is not None and low.mean < estate
    # an unknown operation: the estate alone
    only = prior_for(PRIORS, cause="", operation="")
    assert only is not None and only.mean == pytest.approx(estate, abs=1e-4)


def test_components_without_a_record_take_the_prior_and_say_so():
    prior = Prior(mean=0.9, source="restart_vm in the estate 9/9; all fixes 18/20")
    result = compute_reliability(
        ReliabilityInputs(
            ai_confidence=0.8,
            feedback=FeedbackFacts(),
            success=SuccessFacts(),
            pattern=PatternFacts(similarity=1.0, success_count=0, failure_count=0),
            prior=prior,
        )
    )
    assert result.component(Component.SUCCESS_HISTORY).score == pytest.approx(90.0)
    assert result.component(Component.HUMAN_VALIDATION).score == pytest.approx(90.0)
    assert result.component(Component.PATTERN_RECOGNITION).score == pytest.approx(90.0)
    # 0.25 * 80 + 0.30 * 90 + 0.25 * 90 + 0.20 * 90: not the 20 a zero would give
    assert result.overall_score == pytest.approx(87.5)
    out = breakdown_dict(result)
    assert set(out["priors"]) == {"human_validation", "success_history", "pattern_recognition"}
    assert "prior 90%" in out["notes"]["success_history"]


def test_without_a_prior_a_component_without_data_still_scores_zero():
    result = compute_reliability(ReliabilityInputs(ai_confidence=0.8))
    assert result.overall_score == 20.0
    assert "priors" not in breakdown_dict(result)


def test_the_patterns_record_is_shrunk_toward_the_prior_as_it_accrues():
    prior = Prior(mean=0.5, source="all fixes 1/2")
    one = pattern_component(PatternFacts(1.0, success_count=1, failure_count=0), prior)
    two = pattern_component(PatternFacts(1.0, success_count=2, failure_count=0), prior)
    assert one.score == pytest.approx(100 * (1 + PRIOR_STRENGTH * 0.5) / (1 + PRIOR_STRENGTH))
    assert 50 < one.score < two.score < 100
    assert one.prior and "shrunk toward the prior" in one.note
    # from the third concluded ticket on, its own record alone
    three = pattern_component(PatternFacts(1.0, success_count=3, failure_count=0), prior)
    assert three.score == pytest.approx(100.0) and not three.prior


def test_a_categorys_short_record_is_shrunk_toward_the_prior():
    """One failed first ticket in a young category does not read as 'this never works':
    the category's success history and human validation lean on the prior until the
    category has CATEGORY_MIN_RECORD tickets, then its own record alone (the design's
    formula)."""
    prior = Prior(mean=0.9, source="restart_vm in the estate 9/9")
    one_failure = success_component(SuccessFacts(success=0, failure=1), prior)
    assert one_failure.score == pytest.approx(
        100 * (0 + PRIOR_STRENGTH * 0.9) / (1 + PRIOR_STRENGTH)
    )
    assert one_failure.score > 60 and one_failure.prior
    assert "shrunk toward the prior 90%" in one_failure.note
    # Without a prior (a fresh estate) the record is taken as it is.
    assert success_component(SuccessFacts(success=0, failure=1)).score == 0.0
    # Established: the design's success rate, no prior.
    n = CATEGORY_MIN_RECORD
    established = success_component(SuccessFacts(success=n - 1, failure=1), prior)
    assert established.score == pytest.approx(100 * (n - 1) / n) and not established.prior

    # One negative rating (positive rate 0, rating 1/5: 10%) weighs one ticket against the
    # prior's PRIOR_STRENGTH.
    flipped = FeedbackFacts(weighted_count=1.0, weighted_positive=0.0, weighted_rating_sum=1.0)
    young = feedback_component(flipped, prior)
    assert young.score == pytest.approx((1 * 10 + PRIOR_STRENGTH * 90) / (1 + PRIOR_STRENGTH))
    assert young.prior and "shrunk toward the prior" in young.note
    assert feedback_component(flipped).score == pytest.approx(10.0)
    many = FeedbackFacts(
        weighted_count=float(n), weighted_positive=0.0, weighted_rating_sum=float(n)
    )
    assert feedback_component(many, prior).score == pytest.approx(10.0)
    # The breakdown names the prior each leaned on.
    result = compute_reliability(
        ReliabilityInputs(
            ai_confidence=0.8,
            feedback=flipped,
            success=SuccessFacts(success=0, failure=1),
            prior=prior,
        )
    )
    out = breakdown_dict(result)
    assert {"human_validation", "success_history"} <= set(out["priors"])
