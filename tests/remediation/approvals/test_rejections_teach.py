"""Rejections teach: what approvers refused for a pattern is not proposed again until later
successes outweigh it, unless fixes measured to hold outweigh the rejections (then a person
decides each time); the pattern shows its rejection count."""

from __future__ import annotations

import pytest
from django.db import transaction

from patterns.models import Pattern
from remediation.analysis.services import ticket_analyze
from remediation.approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    RejectedOperation,
    ShadowAgreement,
)
from remediation.approvals.selectors import rejected_operations_for_pattern
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.outcomes import fix_held
from remediation.tickets.services import TicketInput, ticket_create
from tests.support.approvals import approver
from tests.support.factories import move

pytestmark = pytest.mark.django_db


def submit(user, n: int, vm: int | None = None) -> Ticket:
    vm = n if vm is None else vm
    ticket = ticket_create(
        TicketInput(
            ticket_id=f"TEACH-{n}",
            title=f"Service down on prod-web-{vm:02d}",
            description=f"The web service on prod-web-{vm:02d} is not responding; the VM is hung.",
            category="server",
            affected_system=f"prod-web-{vm:02d}",
            enable_auto_remediation=True,
        ),
        acting_user=user,
    ).ticket
    ticket_analyze(ticket.pk)
    return Ticket.objects.select_related("pattern").get(pk=ticket.pk)


def worked(client, ticket: Ticket) -> None:
    r = client.post(
        "/api/v1/feedback",
        {
            "ticket_id": ticket.ticket_id,
            "feedback_type": "positive",
            "rating": 5,
            "actions_worked": True,
            "actual_actions_taken": [
                {"operation": "restart_vm", "params": {"vm": ticket.affected_system}}
            ],
        },
        format="json",
    )
    assert r.status_code == 201, r.json()


def test_a_rejected_operation_is_not_proposed_again_until_successes_outweigh_it(
    lab, user, restart_runbook, client_for
):
    carol = approver("carol")
    first = submit(user, 1)
    assert first.status == TicketStatus.AWAITING_APPROVAL, first.status_reason
    assert [a["operation"] for a in first.suggested_actions] == ["restart_vm"]

    r = client_for(carol).post(
        f"/api/v1/tickets/{first.ticket_id}/approve-remediation",
        {"approve": False, "comment": "Restarting prod web in business hours is not ok"},
        format="json",
    )
    assert r.status_code == 200
    pattern = Pattern.objects.get(pk=first.pattern_id)
    assert pattern.rejection_count == 1
    assert RejectedOperation.objects.get(pattern=pattern).rejection_count == 1

    # The next ticket of the pattern: the refused action is dropped, with the reason.
    second = submit(user, 2)
    assert second.pattern_id == pattern.pk
    assert second.suggested_actions == []
    assert any(
        "approvers rejected it for this pattern 1 time(s)" in d for d in second.dropped_actions
    )
    assert second.status != TicketStatus.AWAITING_APPROVAL

    # One later success does not outweigh one rejection; two do.
    worked(client_for(carol), second)
    assert "restart_vm" in rejected_operations_for_pattern(pattern)
    third = submit(user, 3)
    assert third.suggested_actions == []
    worked(client_for(carol), third)
    assert rejected_operations_for_pattern(pattern) == {}

    fourth = submit(user, 4)
    assert [a["operation"] for a in fourth.suggested_actions] == ["restart_vm"]


def test_the_patterns_api_shows_the_rejection_count(lab, user, restart_runbook, client_for):
    carol = approver("carol")
    ticket = submit(user, 1)
    client_for(carol).post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
        {"approve": False, "comment": "No"},
        format="json",
    )
    r = client_for(carol).get("/api/v1/patterns")
    assert r.status_code == 200
    (row,) = [p for p in r.json()["results"] if p["hash"] == ticket.pattern.hash]
    assert row["rejection_count"] == 1


def reject(client, ticket: Ticket, comment: str = "Not now") -> None:
    r = client.post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
        {"approve": False, "comment": comment},
        format="json",
    )
    assert r.status_code == 200, r.json()


def test_fixes_measured_to_hold_outweigh_a_rejection_so_a_person_decides_instead(
    lab, user, restart_runbook, client_for
):
    """Measured outcomes outweigh opinions: one rejection does not withdraw a restart that
    was seen to work (it is proposed, and a person decides); a second one, outnumbering the
    one measured fix, does."""
    carol = approver("carol")
    first = submit(user, 1)
    move(first, TicketStatus.REMEDIATING)
    move(first, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS, executed=True)
    with transaction.atomic():
        fix_held(Ticket.objects.select_for_update().get(pk=first.pk), how="nothing came back")

    second = submit(user, 2)
    assert second.pattern_id == first.pattern_id
    reject(client_for(carol), second)
    refusal = rejected_operations_for_pattern(second.pattern)["restart_vm"]
    assert not refusal.withdrawn
    assert "1 earlier fix(es) with it were measured to hold" in refusal.reason

    third = submit(user, 3, vm=1)  # the lab double knows prod-web-01 and -02 only
    assert [a["operation"] for a in third.suggested_actions] == ["restart_vm"]
    assert third.status == TicketStatus.AWAITING_APPROVAL, third.status_reason
    assert any(refusal.reason in line for line in third.remediation_decision["reasoning"])
    assert third.decision_facts["held"] == [refusal.reason]

    reject(client_for(carol), third)
    fourth = submit(user, 4)
    assert fourth.suggested_actions == []
    assert any("2 time(s)" in d and "not proposed" in d for d in fourth.dropped_actions)


def test_a_fix_that_was_not_confirmed_to_hold_does_not_outweigh_a_rejection(
    lab, user, restart_runbook, client_for
):
    first = submit(user, 1)
    move(first, TicketStatus.REMEDIATING)
    move(first, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS, executed=True)
    second = submit(user, 2)
    reject(client_for(approver("carol")), second)
    assert rejected_operations_for_pattern(second.pattern)["restart_vm"].withdrawn
    assert submit(user, 3).suggested_actions == []


def test_a_not_now_rejection_does_not_count_against_the_pattern(
    lab, user, restart_runbook, client_for
):
    """ "Not now" (a freeze, a busy hour) ends the request and hands the ticket to a person,
    but the fix is not refused: the next ticket of the pattern proposes it again."""
    carol = approver("carol")
    first = submit(user, 1)
    assert first.status == TicketStatus.AWAITING_APPROVAL, first.status_reason

    r = client_for(carol).post(
        f"/api/v1/tickets/{first.ticket_id}/approve-remediation",
        {"approve": False, "not_now": True, "comment": "Change freeze until Monday"},
        format="json",
    )

    assert r.status_code == 200, r.content
    first.refresh_from_db()
    assert first.status == TicketStatus.MANUAL_REVIEW
    assert "not now" in first.status_reason
    pattern = Pattern.objects.get(pk=first.pattern_id)
    assert pattern.rejection_count == 0
    assert not RejectedOperation.objects.filter(pattern=pattern).exists()
    assert not ShadowAgreement.objects.filter(ticket=first).exists()
    event = AuditEvent.objects.get(action=AuditAction.APPROVAL_REJECTED, ticket=first)
    assert event.details["not_now"] is True and event.details["refused"] == []
    second = submit(user, 2)
    assert [a["operation"] for a in second.suggested_actions] == ["restart_vm"]


def test_the_page_puts_a_request_off_without_counting_it(lab, user, restart_runbook, client):
    carol = approver("carol")
    ticket = submit(user, 1)
    client.force_login(carol)
    url = f"/approvals/requests/{ticket.ticket_id}/"
    assert b'value="not_now"' in client.get(url).content

    empty = client.post(url, {"decision": "not_now", "comment": "", "actions_digest": "0" * 64})
    assert "comment is required" in empty.content.decode()
    digest = ApprovalRequest.objects.get(ticket=ticket).actions_digest
    client.post(url, {"decision": "not_now", "comment": "Freeze", "actions_digest": digest})

    decision = ApprovalDecision.objects.get(request__ticket=ticket)
    assert decision.not_now is True and decision.approve is False
    assert Pattern.objects.get(pk=ticket.pattern_id).rejection_count == 0
    assert "put off (not now)" in client.get(url).content.decode()


@pytest.mark.parametrize("value", ["yes", 1, None, [True]])
def test_not_now_must_be_a_boolean_and_only_with_a_rejection(
    lab, user, restart_runbook, client_for, value
):
    carol = approver("carol")
    ticket = submit(user, 1)
    url = f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation"
    bad = client_for(carol).post(
        url, {"approve": False, "not_now": value, "comment": "x"}, format="json"
    )
    assert bad.status_code == 400 and "not_now" in bad.json()["error"]["fields"]
    both = client_for(carol).post(url, {"approve": True, "not_now": True}, format="json")
    assert both.status_code == 400 and "not_now" in both.json()["error"]["fields"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert not ApprovalDecision.objects.exists()
