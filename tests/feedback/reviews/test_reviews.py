"""The review queue, through its API and pages: what waits for a person and why, taking a
ticket, running its proposal under a person's decision (the approval rules hold), recording
a hand fix (trusted feedback that teaches), closing with a reason; and every refusal."""

from __future__ import annotations

import pytest

from feedback.models import Feedback, Review
from remediation.approvals.models import ApprovalDecision, ApprovalRequest
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketStatus
from tests.conftest import make_teacher
from tests.support.approvals import approver, awaiting_ticket
from tests.support.factories import RESTART_VM, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/reviews"


def manual(user, ticket_id="REV-1", **fields):
    """A ticket the decision refused (below the policy's reliability): nothing ran, nobody
    decided; its proposal stands."""
    defaults = {
        "ticket_id": ticket_id,
        "submitted_by": user,
        "category": "server",
        "status": TicketStatus.MANUAL_REVIEW,
        "status_reason": "Rejected: reliability 72.5% < the policy's 85%",
        "title": "Web service down on prod-web-01",
        "affected_system": "prod-web-01",
        "suggested_actions": [RESTART_VM],
        "analyzer": "local",
        "confidence_score": 0.9,
        "reliability_score": 72.5,
        "auto_remediation_enabled": True,
    }
    defaults.update(fields)
    return TicketFactory(**defaults)


@pytest.fixture
def reviewer(db):
    return approver("rita", email="rita@example.com")


@pytest.fixture
def operator(db):
    return make_teacher(UserFactory(username="otto"))


def test_the_queue_lists_what_waits_for_a_person_and_why(client_for, user, reviewer):
    waiting = manual(user)
    TicketFactory(ticket_id="DONE-1", submitted_by=user, status=TicketStatus.PROCESSING)
    r = client_for(reviewer).get(API)
    assert r.status_code == 200
    [row] = r.json()["results"]
    assert row["ticket_id"] == waiting.ticket_id
    assert row["why"] == "Rejected: reliability 72.5% < the policy's 85%"
    assert row["can_run"] is True and row["assignee"] is None
    assert row["proposed"] == ["restart_vm on prod-web-01"]


def test_who_may_work_it(client_for, user, anon, operator):
    manual(user)
    assert anon.get(API).status_code == 401
    assert client_for(user).get(API).status_code == 403  # an integration submitting tickets
    assert client_for(operator).get(API).status_code == 200
    assert client_for(user).post(f"{API}/REV-1/take").status_code == 403
    assert not Review.objects.exists()


def test_taking_a_ticket_shows_who_has_it(client_for, user, reviewer, operator):
    manual(user)
    r = client_for(reviewer).post(f"{API}/REV-1/take")
    assert r.status_code == 200 and r.json()["review"]["assignee"] == "rita"
    [row] = client_for(operator).get(API).json()["results"]
    assert row["assignee"] == "rita"
    assert AuditEvent.objects.filter(action=AuditAction.REVIEW_TAKEN).count() == 1


def test_running_the_proposal_goes_through_the_approval_service(lab, client_for, user, reviewer):
    ticket = manual(user)
    r = client_for(reviewer).post(f"{API}/REV-1/run")
    assert r.status_code == 200, r.content
    assert "handed to execution" in r.json()["message"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REMEDIATING
    decision = ApprovalDecision.objects.get(request__ticket=ticket)
    assert (decision.approver, decision.via) == (reviewer, "review")
    assert AuditEvent.objects.filter(action=AuditAction.REVIEW_RUN, ticket=ticket).exists()
    assert client_for(reviewer).get(API).json()["results"] == []  # no longer waiting


def test_ones_own_ticket_waits_for_another_approver(lab, client_for, reviewer):
    ticket = manual(reviewer)  # the reviewer submitted it
    r = client_for(reviewer).post(f"{API}/REV-1/run")
    assert r.status_code == 200
    assert "yours did not count" in r.json()["message"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert not ApprovalDecision.objects.filter(request__ticket=ticket).exists()
    other = approver("olga")
    r = client_for(other).post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
        {"approve": True, "actions_digest": _digest(ticket)},
        format="json",
    )
    assert r.status_code == 200, r.content
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REMEDIATING


def _digest(ticket: Ticket) -> str:
    from remediation.approvals.selectors import current_digest

    return current_digest(ticket)


def test_a_proposal_people_already_decided_is_not_run_again(lab, client_for, user, reviewer):
    ticket = awaiting_ticket(user)
    client_for(reviewer).post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
        {"approve": False, "comment": "No."},
        format="json",
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    r = client_for(reviewer).post(f"{API}/{ticket.ticket_id}/run")
    assert r.status_code == 409 and "already decided" in r.json()["error"]["message"]
    assert ApprovalRequest.objects.filter(ticket=ticket).count() == 1


def test_closing_needs_a_reason_and_takes_it_out_of_the_queue(client_for, user, operator):
    manual(user)
    for body, field in (
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "x\x00"}, "reason"),
        ({"reason": "x" * 501}, "reason"),
        ({"reason": "ok", "extra": 1}, "extra"),
    ):
        r = client_for(operator).post(f"{API}/REV-1/close", body, format="json")
        assert r.status_code == 400 and field in r.json()["error"]["fields"], (body, r.content)
    assert not Review.objects.filter(closed_at__isnull=False).exists()
    r = client_for(operator).post(
        f"{API}/REV-1/close", {"reason": "Duplicate of INC-9"}, format="json"
    )
    assert r.status_code == 200
    assert client_for(operator).get(API).json()["results"] == []
    r = client_for(operator).post(f"{API}/REV-1/take")
    assert r.status_code == 409  # closed: not in the queue
    assert client_for(operator).post(f"{API}/NOPE/take").status_code == 404


def test_a_hand_fix_recorded_on_the_page_teaches(client, user, operator):
    ticket = manual(user)
    client.force_login(operator)
    page = client.get(f"/reviews/{ticket.ticket_id}/")
    assert page.status_code == 200 and b"Why it waits for a person" in page.content
    r = client.post(
        f"/reviews/{ticket.ticket_id}/",
        {
            "act": "hand_fix",
            "worked": "yes",
            "operation": "restart_vm",
            "target": "prod-web-01",
            "what_you_did": "Restarted the VM from vCenter; the service answers again.",
        },
    )
    assert r.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.RESOLVED, "success")
    feedback = Feedback.objects.get(ticket=ticket)
    assert feedback.trusted and feedback.actual_actions_taken == [
        {"operation": "restart_vm", "system": "prod-web-01"}
    ]
    assert ticket.shadow_agreement.agreed is True  # the proposal matched what the person did


def test_the_pages_refuse_others_and_garbage(client, user, operator):
    ticket = manual(user)
    client.force_login(user)
    assert client.get("/reviews/").status_code == 403
    assert client.get(f"/reviews/{ticket.ticket_id}/").status_code == 403
    client.force_login(operator)
    assert client.get("/reviews/NOPE/").status_code == 404
    r = client.post(f"/reviews/{ticket.ticket_id}/", {"act": "close", "reason": "\x00"})
    assert r.status_code == 200 and not Review.objects.filter(closed_at__isnull=False).exists()
    r = client.post(f"/reviews/{ticket.ticket_id}/", {"act": "hand_fix", "worked": "maybe"})
    assert r.status_code == 200 and not Feedback.objects.exists()


def test_a_ticket_whose_submitter_did_not_opt_in_is_not_run(lab, client_for, user, reviewer):
    ticket = manual(user, auto_remediation_enabled=False)
    [row] = client_for(reviewer).get(API).json()["results"]
    assert row["can_run"] is False
    r = client_for(reviewer).post(f"{API}/{ticket.ticket_id}/run")
    assert r.status_code == 409 and "did not opt in" in r.json()["error"]["message"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert not ApprovalRequest.objects.filter(ticket=ticket).exists()


def test_a_proposal_the_policy_refuses_is_not_offered_to_run(lab, client_for, user, reviewer):
    """The category's policy does not allow the action (here: its platform): an approval
    would not make the claim run it, so the queue says why instead of asking a person."""
    from policies.models import AutoRemediationPolicy

    AutoRemediationPolicy.objects.create(
        name="server-network-only", category="server", allowed_systems=["network"]
    )
    ticket = manual(user)
    [row] = client_for(reviewer).get(API).json()["results"]
    assert row["can_run"] is False
    r = client_for(reviewer).post(f"{API}/{ticket.ticket_id}/run")
    assert r.status_code == 409
    message = r.json()["error"]["message"]
    assert "policy server-network-only does not allow this" in message
    assert "vmware" in message
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert not ApprovalRequest.objects.filter(ticket=ticket).exists()


def test_a_page_of_the_queue_costs_the_same_queries_for_one_ticket_or_many(
    client_for, user, reviewer
):
    """Whether each proposal can run (an approval request already decided, the category's
    policy) is read for the page at once, not ticket by ticket."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    manual(user, "REV-1")
    with CaptureQueriesContext(connection) as one:
        assert len(client_for(reviewer).get(API).json()["results"]) == 1
    for n in range(2, 8):
        manual(user, f"REV-{n}")
    with CaptureQueriesContext(connection) as seven:
        assert len(client_for(reviewer).get(API).json()["results"]) == 7
    assert len(seven.captured_queries) == len(one.captured_queries)
