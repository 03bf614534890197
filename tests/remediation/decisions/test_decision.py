"""The eight-step decision engine, pure: every branch of every step, and its invariants."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.rules import (
    ACTION_TYPES,
    DAY_NAMES,
    MODE_ENFORCE,
    MODE_SHADOW,
    PLATFORMS,
    GlobalSettings,
    PolicyRules,
)
from remediation.catalogue.rules.operations import (
    ActionType,
    Platform,
    SuggestedAction,
    validate_suggestions,
)
from remediation.catalogue.rules.policy import forbidden_hits
from remediation.decisions.rules.decision import (
    NOT_CHECKED,
    Decision,
    DecisionInput,
    Outcome,
    PatternFacts,
    SafetyFacts,
    decide,
    in_rollout,
    rollout_bucket,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def make_action(operation: str, action: str = "", **params: object) -> SuggestedAction:
    raw = {"operation": operation, "params": params}
    if action:
        raw["action"] = action
    actions, dropped = validate_suggestions([raw])
    assert not dropped, dropped
    return actions[0]


RESTART_VM = make_action("restart_vm", vm="prod-web-01")
CLEAR_ERRORS = make_action("clear_interface_errors", device="core-sw-01", interface="Gi0/1")
RESTART_POD = make_action("restart_pod", pod="default/web-7d9f")
EXPAND_VOLUME = make_action("expand_volume", volume="vol-data-01", size_gb=200)

PASSING = SafetyFacts(True, True, True, True)
GOOD_PATTERN = PatternFacts(
    hash="ab" * 32, eligible=True, similar_resolved=7, positive_outcome_rate=0.9
)
SETTINGS = GlobalSettings(
    enabled=True, min_reliability=85.0, require_approval=True, max_actions_per_hour=10
)
# The design's configuration example.
POLICY = PolicyRules(
    name="network-auto-remediation",
    category="network",
    min_confidence_score=0.85,
    min_reliability_score=80.0,
    min_similar_tickets=5,
    min_positive_feedback_rate=0.8,
    allowed_action_types=frozenset({"safe_write"}),
    allowed_systems=frozenset(PLATFORMS),
    forbidden_commands=("delete", "format", "shutdown"),
    allowed_hours_start=22,
    allowed_hours_end=6,
    allowed_days=frozenset(DAY_NAMES[:5]),
    requires_approval=True,
    auto_approve_threshold=90.0,
    approvers=("admin@company.com",),
    max_actions_per_hour=10,
    requires_rollback_plan=True,
    requires_backup=True,
)


def facts(**overrides: object) -> DecisionInput:
    base: dict[str, object] = {
        "ticket_id": "INC-12345",
        "category": "network",
        "auto_remediation_enabled": True,
        "actions": (CLEAR_ERRORS,),
        "now": NOW,
        "settings": SETTINGS,
        "policy": POLICY,
        "resolution": "Clear the error counters on Gi0/1 and watch for new CRC errors.",
        "confidence": 0.9,
        "reliability": 92.0,
        "pattern": GOOD_PATTERN,
        "safety": PASSING,
        "observed": True,
    }
    base.update(overrides)
    return DecisionInput(**base)  # type: ignore[arg-type]


def policy(**changes: object) -> PolicyRules:
    return replace(POLICY, **changes)  # type: ignore[arg-type]


# --- a worked example: every field of one decision, by hand ---------------------------


def test_a_worked_example_decision_comes_out_field_by_field():
    decision = decide(facts())

    body = decision.to_dict()
    assert set(body) == {
        "allowed",
        "action_type",
        "requires_approval",
        "reasoning",
        "safety_checks",
        "risk_level",
        "policy",
        "decided_at",
        "reliability",
    }
    assert body["reliability"] == {
        "score": 92.0,
        "calibrated_probability": None,
        "calibration": "",
        "used": "score",
        "gate_value": 92.0,
    }
    assert body["allowed"] is True
    assert body["action_type"] == "safe_write"
    assert body["requires_approval"] is False
    assert "All checks passed" in body["reasoning"]
    assert "Auto-approved: reliability 92% >= 90%" in body["reasoning"]
    assert body["safety_checks"] == {
        "time_window_ok": True,
        "rate_limit_ok": True,
        "backup_available": True,
        "system_healthy": True,
        "all_passed": True,
    }
    assert body["risk_level"] == "medium"
    assert body["policy"] == "network-auto-remediation"
    assert body["decided_at"] == NOW.isoformat()
    assert decision.outcome is Outcome.AUTO_APPROVED
    assert decision.mode == MODE_ENFORCE


def test_each_of_the_eight_steps_adds_exactly_one_sentence():
    reasoning = decide(facts()).reasoning
    assert len(reasoning) == 8
    assert reasoning[0] == "Auto-remediation is enabled for this ticket"
    assert reasoning[1].startswith("Policy network-auto-remediation applies")
    assert reasoning[2].startswith("Risk medium")
    assert reasoning[3].startswith("Confidence 90% >= 85% and reliability 92% >= 80%")
    assert reasoning[4] == "All checks passed"
    assert reasoning[5].startswith("Known good pattern abababababab")
    assert reasoning[6] == "Auto-approved: reliability 92% >= 90%"
    assert reasoning[7].startswith("Executing now")


def test_a_decision_awaiting_approval_also_walks_all_eight_steps():
    decision = decide(facts(reliability=88.0))
    assert decision.outcome is Outcome.AWAITING_APPROVAL
    assert len(decision.reasoning) == 8
    assert decision.reasoning[-1] == "Awaiting 1 approval from the policy's approvers"


# --- every branch of every step ----------------------------------------------------------

Row = tuple[dict[str, object], Outcome, bool, bool, str]

BRANCHES: dict[str, Row] = {
    # step 1
    "the kill switch off allows nothing": (
        {"settings": replace(SETTINGS, enabled=False)},
        Outcome.NOT_ENABLED,
        False,
        False,
        "switched off globally",
    ),
    "a ticket that did not opt in is left to a person": (
        {"auto_remediation_enabled": False},
        Outcome.NOT_ENABLED,
        False,
        False,
        "not enabled for this ticket",
    ),
    # step 2
    "no policy for the category requires approval": (
        {"policy": None},
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "No active policy for category 'network'",
    ),
    # step 3
    "no actions is not allowed": (
        {"actions": ()},
        Outcome.REJECTED,
        False,
        False,
        "no catalogue action to run",
    ),
    "dropped suggestions are named": (
        {"actions": (), "dropped": ("suggestion 1 ('format_disk') dropped: not in the catalogue",)},
        Outcome.REJECTED,
        False,
        False,
        "format_disk",
    ),
    "an action type the policy does not allow is rejected": (
        {"policy": policy(allowed_systems=frozenset(PLATFORMS)), "actions": (EXPAND_VOLUME,)},
        Outcome.REJECTED,
        False,
        False,
        "expand_volume on vol-data-01 is critical_write, which policy",
    ),
    "a platform the policy does not allow is rejected": (
        {"policy": policy(allowed_systems=frozenset({"network"})), "actions": (RESTART_VM,)},
        Outcome.REJECTED,
        False,
        False,
        "restart_vm on prod-web-01 runs on vmware",
    ),
    "a forbidden word in a parameter value is rejected": (
        {"actions": (make_action("restart_vm", vm="format-me-01"),)},
        Outcome.REJECTED,
        False,
        False,
        "mentions forbidden format",
    ),
    "a forbidden word in the analyzer's action text is rejected": (
        {"actions": (make_action("restart_vm", "Restart, then SHUTDOWN the host", vm="web-1"),)},
        Outcome.REJECTED,
        False,
        False,
        "mentions forbidden shutdown",
    ),
    "a forbidden word in what the operation does is rejected": (
        {"actions": (RESTART_POD,)},
        Outcome.REJECTED,
        False,
        False,
        "restart_pod on default/web-7d9f mentions forbidden delete",
    ),
    "a forbidden word in the resolution is rejected": (
        {"resolution": "Delete the old logs, then clear counters."},
        Outcome.REJECTED,
        False,
        False,
        "the resolution mentions forbidden delete",
    ),
    "an action without a rollback plan is rejected where the policy requires one": (
        {"actions": (replace(CLEAR_ERRORS, rollback=""),)},
        Outcome.REJECTED,
        False,
        False,
        "has no rollback plan",
    ),
    # step 4
    "confidence below the policy is rejected": (
        {"confidence": 0.7},
        Outcome.REJECTED,
        False,
        False,
        "confidence 70% < the policy's 85%",
    ),
    "reliability below the policy is rejected": (
        {"reliability": 79.99},
        Outcome.REJECTED,
        False,
        False,
        "reliability 79.99% < the policy's 80%",
    ),
    "a ticket never scored counts as zero reliability": (
        {"reliability": None},
        Outcome.REJECTED,
        False,
        False,
        "reliability not scored (0%)",
    ),
    "a reliability that is not a number counts as zero": (
        {"reliability": float("nan")},
        Outcome.REJECTED,
        False,
        False,
        "reliability not scored (0%)",
    ),
    "a confidence that is not a number counts as zero": (
        {"confidence": float("nan")},
        Outcome.REJECTED,
        False,
        False,
        "confidence 0% < the policy's 85%",
    ),
    "reliability under the global floor needs a person": (
        {"reliability": 84.0, "policy": policy(auto_approve_threshold=80.0)},
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "reliability 84% < the global floor 85%",
    ),
    # step 5
    "safety checks not gathered fail closed": (
        {"safety": None},
        Outcome.REJECTED,
        False,
        False,
        "safety checks were not run",
    ),
    "a closed time window is rejected": (
        {"safety": SafetyFacts(False, True, True, True, ("outside the allowed time window",))},
        Outcome.REJECTED,
        False,
        False,
        "Safety checks failed: outside the allowed time window",
    ),
    "a reached rate limit is rejected": (
        {"safety": SafetyFacts(True, False, True, True, ("10 actions started",))},
        Outcome.REJECTED,
        False,
        False,
        "10 actions started",
    ),
    "a missing backup is rejected": (
        {"safety": SafetyFacts(True, True, False, True, ("no backup of vol-data-01",))},
        Outcome.REJECTED,
        False,
        False,
        "no backup of vol-data-01",
    ),
    "an unhealthy system is rejected": (
        {"safety": SafetyFacts(True, True, True, False, ("prod-db-01 is not healthy",))},
        Outcome.REJECTED,
        False,
        False,
        "prod-db-01 is not healthy",
    ),
    # step 6
    "an unknown pattern needs a person": (
        {"pattern": None},
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "Unknown pattern, so a person must approve",
    ),
    "an ineligible pattern needs a person": (
        {"pattern": replace(GOOD_PATTERN, eligible=False)},
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "it is not eligible for auto-remediation",
    ),
    "too few similar resolved tickets need a person": (
        {"pattern": replace(GOOD_PATTERN, similar_resolved=4)},
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "4 similar resolved tickets < 5",
    ),
    "too few positive outcomes needs a person": (
        {"pattern": replace(GOOD_PATTERN, positive_outcome_rate=0.5)},
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "positive outcomes 50% < 80%",
    ),
    # step 7
    "a critical action always needs approval": (
        {
            "policy": policy(allowed_action_types=frozenset(ACTION_TYPES)),
            "actions": (CLEAR_ERRORS, EXPAND_VOLUME),
            "reliability": 100.0,
        },
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "critical_write actions always need approval",
    ),
    "a policy without a threshold never auto-approves": (
        {
            "policy": policy(auto_approve_threshold=None, requires_approval=False),
            "reliability": 100.0,
        },
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "never auto-approves",
    ),
    "reliability under the threshold follows the policy's approval": (
        {"reliability": 89.0},
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "reliability 89% < the auto-approve threshold 90%",
    ),
    "only the threshold waives approval while the global setting requires it": (
        {"reliability": 89.0, "policy": policy(requires_approval=False)},
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "reliability 89% < the auto-approve threshold 90%",
    ),
    "a policy not requiring approval runs when nothing else does": (
        {
            "reliability": 89.0,
            "policy": policy(requires_approval=False),
            "settings": replace(SETTINGS, require_approval=False),
        },
        Outcome.AUTO_APPROVED,
        True,
        False,
        "No approval needed",
    ),
    "a ticket outside the rollout needs approval": (
        {"policy": policy(rollout_percentage=0)},
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "outside the 0% rollout",
    ),
    "a ticket outside the rollout needs approval even where the policy waives it": (
        {
            "reliability": 89.0,
            "policy": policy(requires_approval=False, rollout_percentage=0),
            "settings": replace(SETTINGS, require_approval=False),
        },
        Outcome.AWAITING_APPROVAL,
        True,
        True,
        "outside the 0% rollout",
    ),
    "a ticket inside a partial rollout auto-approves and says so": (
        {"policy": policy(rollout_percentage=rollout_bucket("INC-12345") + 1)},
        Outcome.AUTO_APPROVED,
        True,
        False,
        f"within the {rollout_bucket('INC-12345') + 1}% rollout",
    ),
    # step 8 in shadow mode
    "shadow mode reports what would have run and runs nothing": (
        {"policy": policy(mode=MODE_SHADOW)},
        Outcome.SHADOW,
        True,
        False,
        "Shadow mode: would have executed without approval",
    ),
    "shadow mode reports a would-be approval": (
        {"policy": policy(mode=MODE_SHADOW), "reliability": 88.0},
        Outcome.SHADOW,
        True,
        True,
        "Shadow mode: would have waited for approval",
    ),
    "shadow mode reports a would-be rejection": (
        {"policy": policy(mode=MODE_SHADOW), "confidence": 0.1},
        Outcome.SHADOW,
        False,
        False,
        "Shadow mode: would have rejected the remediation",
    ),
}


@pytest.mark.parametrize(
    ("overrides", "outcome", "allowed", "requires_approval", "says"),
    list(BRANCHES.values()),
    ids=list(BRANCHES),
)
def test_each_branch_decides_as_the_table_says(
    overrides, outcome, allowed, requires_approval, says
):
    decision = decide(facts(**overrides))
    assert decision.outcome is outcome
    assert decision.allowed is allowed
    assert decision.requires_approval is requires_approval
    assert any(says in sentence for sentence in decision.reasoning), decision.reasoning


def test_a_rejection_stops_at_the_refusing_step_and_names_it():
    decision = decide(facts(confidence=0.5))
    assert len(decision.reasoning) == 4
    assert decision.rejection == decision.reasoning[-1]
    assert decision.rejection.startswith("Rejected: confidence 50%")


def test_several_refusals_are_all_named_in_one_sentence():
    bad = make_action("restart_vm", "shutdown it", vm="prod-web-01")
    decision = decide(facts(policy=policy(allowed_systems=frozenset({"network"})), actions=(bad,)))
    assert decision.rejection is not None
    assert "runs on vmware" in decision.rejection
    assert "mentions forbidden shutdown" in decision.rejection


def test_dropped_suggestions_are_named_beside_the_actions_that_remain():
    decision = decide(facts(dropped=("suggestion 2 ('reformat') dropped: not in the catalogue",)))
    assert decision.outcome is Outcome.AUTO_APPROVED
    assert "dropped by the catalogue: suggestion 2 ('reformat')" in decision.reasoning[2]


def test_the_action_type_is_the_highest_among_the_actions():
    decision = decide(
        facts(
            policy=policy(allowed_action_types=frozenset(ACTION_TYPES)),
            actions=(CLEAR_ERRORS, EXPAND_VOLUME),
        )
    )
    assert decision.action_type == "critical_write"
    assert decision.risk_level == "high"


def test_a_decision_with_no_actions_has_no_action_type():
    decision = decide(facts(actions=()))
    assert decision.action_type is None
    assert decision.risk_level is None
    assert decision.to_dict()["action_type"] is None


def test_without_a_policy_anyone_with_the_permission_may_approve():
    decision = decide(facts(policy=None))
    assert decision.policy is None
    assert decision.reasoning[-1] == (
        "Awaiting 1 approval from a user with the approve_remediation permission"
    )


def test_a_policy_asking_for_two_approvals_says_so():
    decision = decide(facts(policy=policy(required_approvals=2), reliability=88.0))
    assert decision.reasoning[-1] == "Awaiting 2 approvals from the policy's approvers"


def test_a_not_enabled_decision_reports_the_checks_as_not_run():
    decision = decide(facts(auto_remediation_enabled=False, safety=None))
    assert decision.safety_checks == NOT_CHECKED
    assert decision.to_dict()["safety_checks"]["all_passed"] is False


# --- forbidden words and the rollout --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("shutdown", True),
        ("SHUTDOWN now", True),
        ("vm-shutdown", True),
        ("shutdown_vm", True),
        ("shutdowns", False),
        ("information", False),
        ("reformat", False),
        ("format.", True),
    ],
)
def test_forbidden_words_match_whole_words_case_insensitively(text, found):
    assert bool(forbidden_hits(["shutdown", "format"], [text])) is found


def test_a_forbidden_phrase_with_spaces_and_symbols_is_matched_literally():
    assert forbidden_hits(["rm -rf"], ["then run rm -rf /var"]) == ["rm -rf"]
    assert forbidden_hits(["rm -rf"], ["rm -r f"]) == []
    assert forbidden_hits(["", "  "], ["anything"]) == []


def test_forbidden_words_are_found_in_nested_parameters():
    action = replace(CLEAR_ERRORS, params=MappingProxyType({"nested": {"k": ["x", "Format"]}}))
    decision = decide(facts(actions=(action,)))
    assert decision.outcome is Outcome.REJECTED


def test_the_rollout_share_is_stable_and_monotone():
    ids = [f"INC-{n}" for n in range(2000)]
    assert not any(in_rollout(i, 0) for i in ids)
    assert all(in_rollout(i, 100) for i in ids)
    share = sum(in_rollout(i, 20) for i in ids) / len(ids)
    assert 0.15 < share < 0.25
    assert all(in_rollout(i, 50) for i in ids if in_rollout(i, 20))


# --- the policy app's copies of the catalogue's names ------------------------------------


def test_the_policy_app_knows_the_catalogues_action_types_and_platforms():
    assert tuple(ACTION_TYPES) == tuple(t.value for t in ActionType)
    assert tuple(PLATFORMS) == tuple(p.value for p in Platform)


# --- properties --------------------------------------------------------------------------

scores = st.one_of(st.none(), st.floats(min_value=0, max_value=100, allow_nan=False))
rates = st.floats(min_value=0, max_value=1, allow_nan=False)
policies = st.one_of(
    st.none(),
    st.builds(
        PolicyRules,
        name=st.just("p"),
        category=st.just("network"),
        min_confidence_score=rates,
        min_reliability_score=st.floats(min_value=0, max_value=100, allow_nan=False),
        min_similar_tickets=st.integers(0, 20),
        min_positive_feedback_rate=rates,
        allowed_action_types=st.frozensets(st.sampled_from(ACTION_TYPES)),
        allowed_systems=st.frozensets(st.sampled_from(PLATFORMS)),
        forbidden_commands=st.lists(st.sampled_from(["delete", "format", "wipe"])).map(tuple),
        requires_approval=st.booleans(),
        auto_approve_threshold=st.one_of(
            st.none(), st.floats(min_value=0, max_value=100, allow_nan=False)
        ),
        required_approvals=st.integers(1, 3),
        rollout_percentage=st.integers(0, 100),
        mode=st.sampled_from([MODE_ENFORCE, MODE_SHADOW]),
        requires_rollback_plan=st.booleans(),
    ),
)
global_settings = st.builds(
    GlobalSettings,
    enabled=st.booleans(),
    min_reliability=st.floats(min_value=0, max_value=100, allow_nan=False),
    require_approval=st.booleans(),
    max_actions_per_hour=st.integers(0, 100),
)
safety_facts = st.one_of(
    st.none(), st.builds(SafetyFacts, st.booleans(), st.booleans(), st.booleans(), st.booleans())
)
patterns = st.one_of(
    st.none(),
    st.builds(
        PatternFacts,
        hash=st.just("cd" * 32),
        eligible=st.booleans(),
        similar_resolved=st.integers(0, 30),
        positive_outcome_rate=rates,
    ),
)
some_actions = st.lists(
    st.sampled_from([RESTART_VM, CLEAR_ERRORS, RESTART_POD, EXPAND_VOLUME]), max_size=3
).map(tuple)
decision_inputs = st.builds(
    DecisionInput,
    ticket_id=st.text(min_size=1, max_size=12),
    category=st.just("network"),
    auto_remediation_enabled=st.booleans(),
    actions=some_actions,
    now=st.just(NOW),
    settings=global_settings,
    policy=policies,
    resolution=st.sampled_from(["", "Restart it.", "Delete the cache."]),
    confidence=rates,
    reliability=scores,
    pattern=patterns,
    safety=safety_facts,
)


@settings(max_examples=400, deadline=None)
@given(inp=decision_inputs)
def test_a_critical_action_never_runs_without_approval_whatever_the_scores_and_policy(inp):
    critical = replace(inp, actions=(*inp.actions, EXPAND_VOLUME))
    decision = decide(critical)
    assert decision.outcome is not Outcome.AUTO_APPROVED
    assert decision.requires_approval or not decision.allowed


@settings(max_examples=300, deadline=None)
@given(inp=decision_inputs)
def test_with_the_kill_switch_off_nothing_is_allowed(inp):
    decision = decide(replace(inp, settings=replace(inp.settings, enabled=False)))
    assert decision.allowed is False
    assert decision.outcome is Outcome.NOT_ENABLED


@settings(max_examples=400, deadline=None)
@given(inp=decision_inputs)
def test_nothing_runs_unattended_below_the_floor_or_without_passing_checks(inp):
    decision: Decision = decide(inp)
    if decision.outcome is Outcome.AUTO_APPROVED:
        assert inp.policy is not None and inp.policy.mode == MODE_ENFORCE
        assert inp.reliability is not None and inp.reliability >= inp.settings.min_reliability
        assert inp.safety is not None and inp.safety.all_passed
        assert inp.pattern is not None and inp.pattern.eligible
        assert in_rollout(inp.ticket_id, inp.policy.rollout_percentage)
        assert inp.policy.auto_approve_threshold is not None
    # The outcome always matches the flags the service stores.
    if decision.outcome is Outcome.REJECTED:
        assert not decision.allowed
    if decision.outcome is Outcome.AWAITING_APPROVAL:
        assert decision.allowed and decision.requires_approval
    assert len(decision.reasoning) >= 1


# --- words alone never run unattended -----------------------------------------------------


def test_a_cause_only_the_words_support_always_needs_a_person():
    decision = decide(facts(observed=False))

    assert decision.outcome is Outcome.AWAITING_APPROVAL
    assert decision.requires_approval is True
    assert "nothing observed confirms the cause" in decision.reasoning[-2]


def test_without_observation_even_a_perfect_score_and_no_threshold_need_a_person():
    lax = policy(auto_approve_threshold=0.0, min_confidence_score=0.0, requires_approval=False)
    decision = decide(facts(observed=False, policy=lax, confidence=1.0, reliability=100.0))

    assert decision.outcome is Outcome.AWAITING_APPROVAL


# --- an operation people rejected for the pattern waits for a person ----------------------


def test_an_operation_people_rejected_but_measured_fixes_outweigh_needs_a_person():
    assert decide(facts()).outcome is Outcome.AUTO_APPROVED
    why = "clear_interface_errors: approvers rejected it for this pattern 1 time(s)"
    decision = decide(facts(held=(why,)))

    assert decision.outcome is Outcome.AWAITING_APPROVAL
    assert decision.requires_approval is True
    assert why in decision.reasoning[-2]
    assert len(decision.reasoning) == len(decide(facts()).reasoning)  # one sentence per step


# --- the live kill switch -------------------------------------------------------------------


def test_a_paused_category_is_not_enabled_and_says_who_paused_it():
    why = "Auto-remediation is paused for every category by oncall: change freeze"
    decision = decide(facts(paused=why))

    assert decision.outcome is Outcome.NOT_ENABLED
    assert decision.allowed is False
    assert decision.reasoning == (f"{why}; a person acts on the resolution",)


def test_the_environments_switch_is_read_before_the_pause():
    off = replace(SETTINGS, enabled=False)
    decision = decide(facts(settings=off, paused="paused by oncall"))
    assert "AUTO_REMEDIATION_ENABLED=false" in decision.reasoning[0]


# --- the calibrated probability beside the score ------------------------------------------


def test_with_a_calibrated_probability_the_thresholds_use_it_and_both_are_stated():
    # Score 70 alone is below the policy's 80; calibrated to 97% it meets it and the 90 of
    # auto-approval.
    decision = decide(
        facts(reliability=70.0, probability=0.97, probability_basis="calibration v4, isotonic")
    )
    assert decision.outcome is Outcome.AUTO_APPROVED
    record = decision.to_dict()["reliability"]
    assert record["score"] == 70.0
    assert record["calibrated_probability"] == 0.97
    assert record["used"] == "calibrated_probability"
    assert record["gate_value"] == 97.0
    said = " ".join(decision.reasoning)
    assert "Reliability score 70%, calibrated probability of success 97%" in said
    assert "calibration v4, isotonic" in said
    assert "the thresholds use the calibrated probability" in said


def test_a_low_calibrated_probability_refuses_a_high_score():
    decision = decide(facts(reliability=95.0, probability=0.5, probability_basis="v2"))
    assert decision.outcome is Outcome.REJECTED
    assert decision.rejection is not None
    assert "reliability 50% < the policy's 80%" in decision.rejection
    assert "Reliability score 95%" in decision.rejection
    assert decision.gate_reliability == 50.0


def test_without_a_calibrated_probability_the_score_is_used_and_said_so():
    decision = decide(facts(reliability=92.0, probability=None))
    assert decision.reliability["used"] == "score"
    assert decision.reliability["calibrated_probability"] is None
    assert decision.gate_reliability == 92.0
