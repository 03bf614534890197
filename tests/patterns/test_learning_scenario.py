"""Learning, end to end: similar tickets, outcomes and feedback earn a pattern its eligibility;
failures take it away again, and the audit trail records both."""

from __future__ import annotations

import pytest
from django.conf import settings

from patterns.models import Pattern
from remediation.audit.models import AuditAction, AuditEvent
from remediation.connectors import registry
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.doubles import LabDouble
from tests.support.factories import analyzed_ticket, move


def all_thresholds_met(p: Pattern) -> bool:
    return (
        p.enabled
        and p.occurrence_count >= settings.PATTERN_MIN_OCCURRENCES
        and p.positive_outcome_rate >= settings.PATTERN_MIN_POSITIVE_RATE
        and p.avg_reliability_score >= settings.PATTERN_MIN_RELIABILITY
        and p.auto_remediation_success_rate >= settings.PATTERN_MIN_SUCCESS_RATE
    )


def eligibility_events(pattern):
    return list(
        AuditEvent.objects.filter(
            pattern=pattern, action=AuditAction.PATTERN_ELIGIBILITY_CHANGED
        ).order_by("id")
    )


def feedback(api, ticket, **fields):
    body = {"ticket_id": ticket.ticket_id, "feedback_type": "positive", "rating": 5} | fields
    response = api.post("/api/v1/feedback", body, format="json")
    assert response.status_code == 201, response.json()
    return response


@pytest.fixture
def hung_vms(investigating):
    """The lab's web VMs are hung: the investigation observes it, as on the lab."""
    hung = {f"prod-web-{n:02d}": "vm_hung" for n in range(1, 9)}
    with registry.use(LabDouble(conditions=hung, systems=set(hung))):
        yield


@pytest.mark.django_db
def test_a_pattern_becomes_eligible_exactly_when_the_last_threshold_is_crossed_and_loses_it(
    teacher_api, user, restart_runbook, hung_vms
):
    pattern = None
    became_eligible_at = None
    for n in range(1, 9):
        ticket = analyzed_ticket(
            user,
            f"LEARN-{n}",
            title=f"Service down on prod-web-{n:02d}",
            description=f"The web service on prod-web-{n:02d} is not responding; the VM is hung.",
            executed=True,  # an approved execution ran its actions
        )
        pattern = pattern or ticket.pattern
        assert ticket.pattern_id == pattern.pk, "every host's ticket shares one pattern"
        for step in ("analyzed", "executed", "feedback"):
            if step == "executed":  # post-checks passed: the measured outcome
                move(ticket, TicketStatus.RESOLVED, outcome="success")
            if step == "feedback":
                feedback(teacher_api, ticket, resolution_accurate=True, actions_worked=True)
            pattern.refresh_from_db()
            # Never before every threshold holds, and at once when the last one is crossed.
            assert pattern.eligible_for_auto_remediation == all_thresholds_met(pattern), (
                n,
                step,
            )
            if pattern.eligible_for_auto_remediation and became_eligible_at is None:
                became_eligible_at = (n, step)
    assert became_eligible_at is not None
    assert became_eligible_at[0] >= settings.PATTERN_MIN_OCCURRENCES
    events = eligibility_events(pattern)
    assert len(events) == 1 and events[0].details["eligible"] is True
    assert Ticket.objects.filter(pattern=pattern, outcome="success").count() == 8

    # Then a remediation fails and the person says so: the success and positive rates fall
    # below their thresholds and the pattern loses eligibility by itself.
    failing = analyzed_ticket(
        user,
        "LEARN-FAIL-1",
        title="Service down on prod-web-07",
        description="The web service on prod-web-07 is not responding; the VM is hung.",
        executed=True,
    )
    move(failing, TicketStatus.PARTIALLY_REMEDIATED, outcome="failure")
    feedback(teacher_api, failing, feedback_type="negative", rating=1, actions_worked=False)
    failing2 = analyzed_ticket(
        user,
        "LEARN-FAIL-2",
        title="Service down on prod-web-08",
        description="The web service on prod-web-08 is not responding; the VM is hung.",
        executed=True,
    )
    move(failing2, TicketStatus.PARTIALLY_REMEDIATED, outcome="failure")
    feedback(teacher_api, failing2, feedback_type="negative", rating=1, actions_worked=False)
    pattern.refresh_from_db()
    assert pattern.auto_remediation_success_rate < settings.PATTERN_MIN_SUCCESS_RATE
    assert not pattern.eligible_for_auto_remediation
    events = eligibility_events(pattern)
    assert [e.details["eligible"] for e in events] == [True, False]
    assert "no longer eligible" in events[-1].message
    assert events[-1].ticket.ticket_id == "LEARN-FAIL-2"
