"""Shadow agreement, the pure parts: what a trusted feedback says about the proposal, and
the optional eligibility check on it."""

from __future__ import annotations

import pytest

from patterns.rules.eligibility import PatternStats, Thresholds, is_eligible
from remediation.approvals.rules import actions_match, feedback_agreement

RESTART = {
    "action": "Restart prod-web-01",
    "system": "prod-web-01",
    "operation": "restart_vm",
    "params": {"vm": "prod-web-01"},
}


def verdict(proposed=(RESTART,), taken=(), kind="positive", ran=False, **fields):
    args = {"resolution_accurate": None, "actions_worked": None, "actual_resolution": ""}
    args.update(fields)
    return feedback_agreement(
        proposed=list(proposed), taken=list(taken), feedback_type=kind, ran=ran, **args
    )


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # Actions proposed.
        ({"kind": "negative"}, False),
        ({"resolution_accurate": False}, False),
        ({"actions_worked": False}, False),
        ({"taken": [{"operation": "restart_vm", "system": "PROD-WEB-01"}]}, True),
        ({"taken": [{"operation": "restart_vm", "params": {"vm": "prod-web-01"}}]}, True),
        ({"taken": [{"operation": "restart_vm"}]}, True),  # no target named
        ({"taken": [{"operation": "restart_vm", "system": "prod-web-02"}]}, False),
        ({"taken": [{"operation": "restart_service", "system": "prod-web-01"}]}, False),
        (  # did the proposed action and something else
            {"taken": [RESTART, {"operation": "restart_service", "system": "nginx"}]},
            False,
        ),
        ({"taken": ["I restarted it by hand"]}, True),  # a sentence: the verdict decides
        ({"kind": "neutral", "taken": [RESTART]}, True),
        ({}, True),  # positive on a ticket that did not run
        ({"ran": True}, None),  # positive on one that ran: the run handled it
        ({"ran": True, "kind": "negative"}, False),
        ({"kind": "neutral"}, None),
        # Nothing proposed.
        ({"proposed": [], "taken": [RESTART]}, False),
        ({"proposed": [], "taken": ["rebooted it"]}, False),
        ({"proposed": [], "actual_resolution": "Rebooted the VM."}, False),
        ({"proposed": [], "kind": "negative"}, False),
        ({"proposed": []}, True),  # positive, no fix: nothing needed doing
        ({"proposed": [], "kind": "neutral"}, None),
    ],
)
def test_what_a_trusted_feedback_says_about_the_proposal(case, expected):
    found = verdict(**case)
    assert (found.agreed if found is not None else None) is expected
    if found is not None:
        assert found.reason


def test_actions_match_both_ways_round():
    assert actions_match([RESTART], [RESTART])
    assert not actions_match([], [RESTART])
    assert not actions_match([RESTART], [RESTART, {**RESTART, "system": "prod-web-02"}])


T = Thresholds(
    min_occurrences=5, min_positive_rate=0.85, min_reliability=85.0, min_success_rate=0.85
)
GOOD = PatternStats(
    occurrence_count=5,
    positive_outcome_rate=0.85,
    avg_reliability_score=85.0,
    auto_remediation_success_rate=0.85,
)


def test_the_shadow_check_is_off_by_default_and_says_nothing():
    assert T.min_shadow_decisions == 0
    assert is_eligible(GOOD, T) == is_eligible(
        PatternStats(**{**GOOD.__dict__, "shadow_disagreement_count": 50}), T
    )


def on(decisions: int = 10, rate: float = 0.9) -> Thresholds:
    return Thresholds(
        **{**T.__dict__, "min_shadow_decisions": decisions, "min_shadow_agreement": rate}
    )


@pytest.mark.parametrize(
    ("agreed", "disagreed", "eligible"),
    [(9, 1, True), (18, 2, True), (8, 2, False), (9, 0, False), (0, 0, False)],
)
def test_with_the_check_on_agreement_over_enough_decisions_is_needed(agreed, disagreed, eligible):
    stats = PatternStats(
        **{
            **GOOD.__dict__,
            "shadow_agreement_count": agreed,
            "shadow_disagreement_count": disagreed,
        }
    )
    ok, reasons = is_eligible(stats, on())
    assert ok is eligible
    shadow = [r for r in reasons if "People agreed" in r]
    assert len(shadow) == 1
    if not eligible:
        assert reasons == shadow
        assert "needs 90% of at least 10" in shadow[0]
