"""ticket_decide: the policy, the facts and the safety checks, stored on the ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import Conflict
from policies.models import AutoRemediationPolicy, PolicyMode
from remediation.audit.models import AuditAction, AuditEvent
from remediation.connectors import registry
from remediation.connectors.base import Connector, UnconfiguredConnector
from remediation.connectors.mcp_connector import McpConnector
from remediation.connectors.models import PlatformConnector
from remediation.connectors.registry import get_connector
from remediation.decisions.rules.decision import Outcome
from remediation.execution.models import Execution, ExecutionState, ExecutionVia
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.deciding import decide
from tests.support.doubles import BrokenConnector, LabDouble
from tests.support.factories import (
    EXPAND_VOLUME,
    OBSERVED_DIAGNOSIS,
    RESTART_VM,
    PatternFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db

DECISION_KEYS = {
    "reliability",
    "allowed",
    "action_type",
    "requires_approval",
    "reasoning",
    "safety_checks",
    "risk_level",
    "policy",
    "decided_at",
}


_submitter: dict[str, object] = {}


@pytest.fixture(autouse=True)
def submitter(user):
    # One submitter for every ticket of a test: hashing a password per ticket is slow.
    _submitter["user"] = user
    yield user
    _submitter.clear()


@pytest.fixture
def lab():
    double = LabDouble(unhealthy={"prod-db-01"})
    with registry.use(double):
        yield double


def good_pattern(**fields):
    defaults = {
        "category": "cache",
        "eligible_for_auto_remediation": True,
        "success_count": 6,
        "positive_feedback_rate": 0.9,
        "occurrence_count": 7,
    }
    return PatternFactory(**{**defaults, **fields})


def analyzed_ticket(**fields) -> Ticket:
    """A ticket as the analysis task leaves it just before deciding."""
    defaults = {
        "submitted_by": _submitter["user"],
        "category": "cache",
        "status": TicketStatus.PROCESSING,
        "auto_remediation_enabled": True,
        "resolution": "Restart the web VM to clear its stuck cache.",
        "suggested_actions": [RESTART_VM],
        "confidence_score": 0.9,
        "reliability_score": 92.0,
        "diagnosis": OBSERVED_DIAGNOSIS,
    }
    defaults.update(fields)
    if "pattern" not in defaults:
        defaults["pattern"] = good_pattern(category=defaults["category"])
    return TicketFactory(**defaults)


def events(ticket: Ticket, action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(ticket=ticket, action=action))


def test_a_trusted_cache_ticket_is_auto_approved_and_starts_remediating(lab):
    ticket = analyzed_ticket()

    decision = decide(ticket)

    assert decision.outcome is Outcome.AUTO_APPROVED
    assert ticket.status == TicketStatus.REMEDIATING
    assert ticket.remediation_started_at is not None
    assert ticket.decision_policy == "cache-auto-remediation"
    assert ticket.decision_mode == "enforce"
    stored = ticket.remediation_decision
    assert set(stored) == DECISION_KEYS
    assert stored["allowed"] is True
    assert stored["requires_approval"] is False
    assert stored["risk_level"] == "medium"
    assert "All checks passed" in stored["reasoning"]
    assert "Auto-approved: reliability 92% >= 85%" in stored["reasoning"]
    assert stored["safety_checks"]["all_passed"] is True
    assert ("system_healthy", "prod-web-01") in lab.asked


def test_it_audits_the_full_decision_and_the_status_change(lab):
    ticket = analyzed_ticket()

    decide(ticket)

    [made] = events(ticket, AuditAction.DECISION_MADE)
    assert made.details["decision"] == ticket.remediation_decision
    assert made.details["outcome"] == "auto_approved"
    assert made.details["mode"] == "enforce"
    assert made.actor is None and made.actor_label == "system"
    [changed] = events(ticket, AuditAction.STATUS_CHANGED)
    assert changed.details == {
        "from": "processing",
        "to": "remediating",
        "reason": ticket.status_reason,
    }


def test_a_ticket_that_did_not_opt_in_stays_with_a_person_and_no_connector_is_asked(lab):
    ticket = analyzed_ticket(auto_remediation_enabled=False)

    decision = decide(ticket)

    assert decision.outcome is Outcome.NOT_ENABLED
    assert ticket.status == TicketStatus.ANALYZED
    assert ticket.remediation_decision["allowed"] is False
    assert ticket.remediation_started_at is None
    assert lab.asked == []


def test_an_analyzed_ticket_not_enabled_keeps_its_status_without_a_status_event(lab):
    ticket = analyzed_ticket(auto_remediation_enabled=False, status=TicketStatus.ANALYZED)

    decide(ticket)

    assert ticket.status == TicketStatus.ANALYZED
    assert len(events(ticket, AuditAction.DECISION_MADE)) == 1
    assert events(ticket, AuditAction.STATUS_CHANGED) == []


def test_the_kill_switch_leaves_every_ticket_with_a_person(lab, settings):
    settings.AUTO_REMEDIATION_ENABLED = False
    ticket = analyzed_ticket()

    decide(ticket)

    assert ticket.status == TicketStatus.ANALYZED
    assert ticket.remediation_decision["allowed"] is False
    assert "switched off globally" in ticket.status_reason


def test_without_a_configured_connector_the_checks_fail_closed():
    PlatformConnector.objects.filter(platform="vmware").update(enabled=False)
    assert isinstance(get_connector("vmware"), UnconfiguredConnector)
    ticket = analyzed_ticket()

    decide(ticket)

    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert ticket.remediation_decision["safety_checks"]["system_healthy"] is False
    assert "connector unconfigured could not tell about prod-web-01" in ticket.status_reason


def test_a_failing_connector_fails_the_check_and_says_so():
    ticket = analyzed_ticket()
    with registry.use(BrokenConnector()):
        decide(ticket)

    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "connector broken failed asking about prod-web-01 (ConnectionError)" in (
        ticket.status_reason
    )


def test_an_unhealthy_system_sends_the_ticket_to_manual_review(lab):
    action = {**RESTART_VM, "system": "prod-db-01", "params": {"vm": "prod-db-01"}}
    ticket = analyzed_ticket(suggested_actions=[action])

    decide(ticket)

    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert ticket.remediation_decision["safety_checks"]["system_healthy"] is False
    assert "prod-db-01 is not healthy" in ticket.status_reason
    [changed] = events(ticket, AuditAction.STATUS_CHANGED)
    assert changed.details["to"] == "manual_review"


def test_a_policy_requiring_a_backup_asks_for_one_and_refuses_without():
    AutoRemediationPolicy.objects.filter(category="cache").update(requires_backup=True)
    ticket = analyzed_ticket()
    with registry.use(LabDouble(no_backup={"prod-web-01"})) as double:
        decide(ticket)

    assert ("backup_available", "prod-web-01") in double.asked
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert ticket.remediation_decision["safety_checks"]["backup_available"] is False
    assert "no backup of prod-web-01" in ticket.status_reason


def test_no_backup_is_asked_for_where_neither_policy_nor_operation_needs_one(lab):
    decide(analyzed_ticket())
    assert not any(question == "backup_available" for question, _ in lab.asked)


def test_an_irreversible_storage_action_needs_a_backup_and_a_person(lab):
    ticket = analyzed_ticket(category="storage", suggested_actions=[EXPAND_VOLUME])
    AutoRemediationPolicy.objects.filter(category="storage").update(
        allowed_hours_start=0, allowed_hours_end=0
    )

    decision = decide(ticket)

    assert ("backup_available", "vol-data-01") in lab.asked
    assert decision.outcome is Outcome.AWAITING_APPROVAL
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert ticket.remediation_decision["risk_level"] == "high"
    assert ticket.remediation_started_at is None
    assert any(
        "critical_write actions always need approval" in sentence
        for sentence in ticket.remediation_decision["reasoning"]
    )


def test_a_closed_time_window_sends_the_ticket_to_manual_review(lab):
    hour = timezone.now().hour
    AutoRemediationPolicy.objects.filter(category="cache").update(
        allowed_hours_start=(hour + 2) % 24, allowed_hours_end=(hour + 3) % 24
    )
    ticket = analyzed_ticket()

    decide(ticket)

    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert ticket.remediation_decision["safety_checks"]["time_window_ok"] is False
    assert "outside the allowed time window" in ticket.status_reason


def started(minutes_ago: int, *, actions: int = 1, policy: str = "cache-auto-remediation"):
    """An execution the choke point claimed ``minutes_ago``: what the hourly budget counts."""
    ticket = TicketFactory(
        submitted_by=_submitter["user"],
        status=TicketStatus.REMEDIATING,
        decision_policy=policy,
        suggested_actions=[RESTART_VM] * actions,
    )
    return Execution.objects.create(
        ticket=ticket,
        run=1,
        key=f"{ticket.ticket_id}:1",
        via=ExecutionVia.AUTO,
        state=ExecutionState.SUCCEEDED,
        policy_name=policy,
        action_count=actions,
        claimed_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_the_global_hourly_cap_counts_actions_across_every_policy(lab, settings):
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 3
    started(10, actions=2, policy="network-auto-remediation")
    started(20, actions=1, policy="")
    started(90, actions=5)  # more than an hour ago: does not count
    ticket = analyzed_ticket()

    decide(ticket)

    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert ticket.remediation_decision["safety_checks"]["rate_limit_ok"] is False
    assert "3 actions started in the last hour plus 1 would exceed the global limit of 3" in (
        ticket.status_reason
    )


def test_the_global_cap_lets_the_last_action_through(lab, settings):
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 3
    started(10, actions=2, policy="network-auto-remediation")
    ticket = analyzed_ticket()

    decide(ticket)

    assert ticket.status == TicketStatus.REMEDIATING


def test_the_policy_cap_counts_only_that_policys_actions(lab):
    AutoRemediationPolicy.objects.filter(category="cache").update(max_actions_per_hour=2)
    started(5, actions=2, policy="network-auto-remediation")
    ticket = analyzed_ticket()
    decide(ticket)
    assert ticket.status == TicketStatus.REMEDIATING

    # The first ticket's run waits in the queue: the decision counts it already.
    started(5, actions=1)
    second = analyzed_ticket()
    decide(second)
    assert second.status == TicketStatus.MANUAL_REVIEW
    assert "policy cache-auto-remediation's limit of 2 per hour" in second.status_reason


def test_a_hard_cap_of_zero_stops_everything(lab, settings):
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 0
    ticket = analyzed_ticket()
    decide(ticket)
    assert ticket.status == TicketStatus.MANUAL_REVIEW


def test_a_category_without_a_policy_awaits_a_person(lab):
    ticket = analyzed_ticket(category="server")

    decision = decide(ticket)

    assert decision.outcome is Outcome.AWAITING_APPROVAL
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert ticket.decision_policy == ""
    assert ticket.remediation_decision["policy"] is None
    assert "No active policy for category 'server'" in " ".join(
        ticket.remediation_decision["reasoning"]
    )


def test_a_disabled_policy_counts_as_none(lab):
    AutoRemediationPolicy.objects.filter(category="cache").update(enabled=False)
    ticket = analyzed_ticket()

    decide(ticket)

    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert ticket.remediation_decision["policy"] is None


def test_a_pattern_not_yet_eligible_needs_approval(lab):
    ticket = analyzed_ticket(pattern=good_pattern(eligible_for_auto_remediation=False))

    decide(ticket)

    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert ticket.remediation_decision["requires_approval"] is True


def test_a_pattern_switched_off_is_not_trusted(lab):
    ticket = analyzed_ticket(pattern=good_pattern(enabled=False))
    decide(ticket)
    assert ticket.status == TicketStatus.AWAITING_APPROVAL


def test_a_ticket_without_a_pattern_needs_approval(lab):
    ticket = analyzed_ticket(pattern=None)
    decide(ticket)
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert "Unknown pattern, so a person must approve" in ticket.remediation_decision["reasoning"]


def test_low_reliability_is_rejected_with_the_reason(lab):
    ticket = analyzed_ticket(reliability_score=60.0)

    decide(ticket)

    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert ticket.status_reason == "Rejected: reliability 60% < the policy's 75%"


def test_shadow_mode_decides_for_the_record_and_runs_nothing(lab):
    AutoRemediationPolicy.objects.filter(category="cache").update(mode=PolicyMode.SHADOW)
    ticket = analyzed_ticket()

    decision = decide(ticket)

    assert decision.outcome is Outcome.SHADOW
    assert ticket.status == TicketStatus.ANALYZED
    assert ticket.decision_mode == "shadow"
    assert ticket.remediation_started_at is None
    assert ticket.remediation_decision["reasoning"][-1].startswith(
        "Shadow mode: would have executed without approval"
    )
    [made] = events(ticket, AuditAction.DECISION_MADE)
    assert made.details["outcome"] == "shadow"


def test_suggestions_that_fail_the_catalogue_are_dropped_and_named(lab):
    forged = {**RESTART_VM, "operation": "format_disk"}
    ticket = analyzed_ticket(
        suggested_actions=[forged],
        dropped_actions=["suggestion 2 ('rm_rf') dropped: operation is not in the catalogue"],
    )

    decide(ticket)

    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "no catalogue action to run" in ticket.status_reason
    assert "format_disk" in ticket.status_reason
    assert "rm_rf" in ticket.status_reason


def test_a_forbidden_word_in_the_resolution_is_refused(lab):
    ticket = analyzed_ticket(resolution="Restart the VM, then wipe the cache disk.")
    decide(ticket)
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "the resolution mentions forbidden wipe" in ticket.status_reason


def test_it_refuses_to_decide_a_ticket_decided_already(lab):
    ticket = analyzed_ticket(status=TicketStatus.AWAITING_APPROVAL)

    with pytest.raises(Conflict):
        decide(ticket)

    ticket.refresh_from_db()
    assert ticket.remediation_decision is None
    assert not AuditEvent.objects.filter(ticket=ticket).exists()


def test_the_registry_puts_back_what_answered_before():
    outer, inner = LabDouble(), LabDouble()
    with registry.use(outer):
        with registry.use(inner, "vmware"):
            assert get_connector("vmware") is inner
            assert get_connector("network") is outer
        assert get_connector("vmware") is outer
    # Then the configured connector (the lab, from the data migration) answers again.
    assert isinstance(get_connector("vmware"), McpConnector)
    assert isinstance(outer, Connector)


def test_the_registry_refuses_an_unknown_platform():
    with pytest.raises(ValueError, match="mainframe"), registry.use(LabDouble(), "mainframe"):
        pass


def _store_fit(category: str, knots: list[list[float]], n: int = 30) -> None:
    from remediation.scoring.models import CalibrationFit

    fitted = {"method": "isotonic", "n": n, "base_rate": 0.9, "knots": knots}
    CalibrationFit.objects.create(
        version=1,
        fitted_at=timezone.now(),
        trigger="test",
        window_days=180,
        parameters={"estate": fitted, "categories": {category: fitted}, "priors": {}},
        counts={category: n},
    )


def test_the_stored_decision_states_the_score_and_the_calibrated_probability(lab):
    # Score 70 is below the cache policy's minimum; the fit says tickets scored 70 succeed 97%
    # of the time, and the thresholds use that.
    _store_fit("cache", [[0.5, 0.97], [1.0, 0.97]])
    ticket = analyzed_ticket(reliability_score=70.0)

    decision = decide(ticket)

    assert decision.outcome is Outcome.AUTO_APPROVED
    record = ticket.remediation_decision["reliability"]
    assert record["score"] == 70.0
    assert record["calibrated_probability"] == 0.97
    assert record["used"] == "calibrated_probability"
    assert "v1" in record["calibration"] and "category cache" in record["calibration"]
    assert ticket.decided_reliability_score == 70.0
    assert ticket.decided_probability == 0.97
    assert ticket.decided_gate_reliability == 97.0
    assert any("calibrated probability of success 97%" in s for s in decision.reasoning)


def test_a_low_calibrated_probability_sends_a_high_score_to_a_person(lab):
    _store_fit("cache", [[0.5, 0.4], [1.0, 0.4]])
    ticket = analyzed_ticket(reliability_score=95.0)

    decision = decide(ticket)

    assert decision.outcome is Outcome.REJECTED
    assert ticket.decided_gate_reliability == 40.0
    assert ticket.remediation_decision["reliability"]["score"] == 95.0
