"""The review queue does not turn a policy's rejection into a write: what the decision
rejected below the policy's thresholds (minimum reliability, minimum confidence) is not run
from the queue, by API or page; and only an approver may start a run at all."""

from __future__ import annotations

import pytest
from django.utils import timezone

from remediation.approvals.models import ApprovalDecision, ApprovalRequest
from remediation.audit.models import AuditAction, AuditEvent
from remediation.execution.models import Execution
from remediation.tickets.models import TicketStatus
from tests.conftest import make_teacher
from tests.support.approvals import approver, policy
from tests.support.deciding import decide
from tests.support.factories import RESTART_VM, PatternFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/reviews"


def rejected(user, *, ticket_id="THR-1", category="server", **fields):
    """A ticket the real decision rejected below its policy's thresholds."""
    defaults = {
        "ticket_id": ticket_id,
        "submitted_by": user,
        "category": category,
        "status": TicketStatus.PROCESSING,
        "auto_remediation_enabled": True,
        "resolution": "Restart the web VM; the service comes back with it.",
        "suggested_actions": [RESTART_VM],
        "confidence_score": 0.9,
        "reliability_score": 55.6,
        "pattern": PatternFactory(category=category, occurrence_count=3),
    }
    defaults.update(fields)
    ticket = TicketFactory(**defaults)
    decide(ticket)
    assert ticket.status == TicketStatus.MANUAL_REVIEW, ticket.status_reason
    return ticket


def assert_nothing_ran(ticket):
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert not ApprovalRequest.objects.filter(ticket=ticket).exists()
    assert not ApprovalDecision.objects.filter(request__ticket=ticket).exists()
    assert not Execution.objects.filter(ticket=ticket).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.REVIEW_RUN, ticket=ticket).exists()


@pytest.fixture
def reviewer(db):
    return approver("rita", email="rita@example.com")


def test_a_proposal_rejected_below_the_policys_reliability_is_not_run(
    lab, client_for, user, reviewer
):
    policy(min_reliability_score=75.0, allowed_action_types=["safe_write"])
    ticket = rejected(user)
    assert "reliability 55.6% < the policy's 75%" in ticket.status_reason

    [row] = client_for(reviewer).get(API).json()["results"]
    assert row["can_run"] is False
    r = client_for(reviewer).post(f"{API}/{ticket.ticket_id}/run")

    assert r.status_code == 409, r.content
    message = r.json()["error"]["message"]
    assert "reliability 55.6% < the policy's 75%" in message
    assert_nothing_ran(ticket)


def test_a_critical_proposal_below_a_95_floor_is_not_run_by_one_approver(
    lab, client_for, user, reviewer
):
    """A critical rollback under the policy's 95% floor (and two approvals asked): one call
    of one approver runs nothing."""
    olga = approver("olga", email="olga@example.com")
    policy(
        category="security",
        min_confidence_score=0.95,
        min_reliability_score=95.0,
        allowed_action_types=["safe_write", "critical_write"],
        approvers=["rita@example.com", "olga@example.com"],
        required_approvals=2,
    )
    ticket = rejected(user, category="security", confidence_score=0.9, reliability_score=80.0)

    r = client_for(reviewer).post(f"{API}/{ticket.ticket_id}/run")

    assert r.status_code == 409, r.content
    message = r.json()["error"]["message"]
    assert "confidence 90% < the policy's 95%" in message
    assert "reliability 80% < the policy's 95%" in message
    assert client_for(olga).post(f"{API}/{ticket.ticket_id}/run").status_code == 409
    assert_nothing_ran(ticket)


def test_the_page_says_why_and_offers_no_run_button(lab, client, user, reviewer):
    policy(min_reliability_score=75.0, allowed_action_types=["safe_write"])
    ticket = rejected(user)
    client.force_login(reviewer)

    page = client.get(f"/reviews/{ticket.ticket_id}/")
    assert page.status_code == 200
    assert b'id="run"' not in page.content
    assert b"reliability 55.6% &lt; the policy&#x27;s 75%" in page.content

    r = client.post(f"/reviews/{ticket.ticket_id}/", {"act": "run"})  # forged: no button
    assert r.status_code == 302
    assert_nothing_ran(ticket)


def test_an_operator_who_cannot_approve_cannot_start_a_run(lab, client, client_for, user):
    """Moving a ticket back to awaiting_approval is an approver's decision: an Operator (who
    works the queue: take, hand fix, close) is refused, by API and page, and not offered the
    button."""
    operator = make_teacher(UserFactory(username="otto"))
    ticket = TicketFactory(
        ticket_id="OPS-1",
        submitted_by=user,
        category="server",
        status=TicketStatus.MANUAL_REVIEW,
        status_reason="Safety checks failed: prod-web-01 was not healthy",
        suggested_actions=[RESTART_VM],
        confidence_score=0.9,
        reliability_score=90.0,
        auto_remediation_enabled=True,
    )

    [row] = client_for(operator).get(API).json()["results"]
    assert row["can_run"] is False  # not for them
    r = client_for(operator).post(f"{API}/{ticket.ticket_id}/run")
    assert r.status_code == 403, r.content
    assert r.json()["error"]["code"] == "not_allowed"
    assert_nothing_ran(ticket)

    client.force_login(operator)
    page = client.get(f"/reviews/{ticket.ticket_id}/")
    assert page.status_code == 200
    assert b'id="run"' not in page.content and b'id="run-approvers-only"' in page.content
    client.post(f"/reviews/{ticket.ticket_id}/", {"act": "run"})
    assert_nothing_ran(ticket)
    # The same ticket is runnable by an approver: the refusal above was about who asked.
    rita = approver("rita")
    client.force_login(rita)
    assert b'id="run"' in client.get(f"/reviews/{ticket.ticket_id}/").content
    [row] = client_for(rita).get(API).json()["results"]
    assert row["can_run"] is True


def test_the_queue_offers_a_person_a_proposal_outside_the_policys_time_window(
    lab, client_for, user, reviewer
):
    """The time window is for the machine: the decision sends the ticket to a person outside
    it, and the queue lets an approver run it then (the claim's side: the execution tests)."""
    hour = timezone.now().hour
    policy(allowed_hours_start=(hour + 2) % 24, allowed_hours_end=(hour + 3) % 24)
    ticket = rejected(user, reliability_score=90.0)
    assert "outside the allowed time window" in ticket.status_reason

    [row] = client_for(reviewer).get(API).json()["results"]
    assert row["can_run"] is True, row
    r = client_for(reviewer).post(f"{API}/{ticket.ticket_id}/run")
    assert r.status_code == 200, r.content
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REMEDIATING
