"""Rejections teach: what approvers refused for a pattern is not proposed again until later
successes outweigh it; the pattern shows its rejection count."""

from __future__ import annotations

import pytest

from patterns.models import Pattern
from remediation.analysis.services import ticket_analyze
from remediation.approvals.models import RejectedOperation
from remediation.approvals.selectors import rejected_operations_for_pattern
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.services import TicketInput, ticket_create
from tests.support.approvals import approver

pytestmark = pytest.mark.django_db


def submit(user, n: int) -> Ticket:
    ticket = ticket_create(
        TicketInput(
            ticket_id=f"TEACH-{n}",
            title=f"Service down on prod-web-{n:02d}",
            description=f"The web service on prod-web-{n:02d} is not responding; the VM is hung.",
            category="server",
            affected_system=f"prod-web-{n:02d}",
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
