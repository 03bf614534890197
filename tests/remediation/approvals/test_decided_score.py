"""Calibration checks a prediction as it was made: the decision keeps the reliability score
it saw, which the re-score after trusted feedback (its outcome then counted) does not move."""

from __future__ import annotations

import pytest

from remediation.analysis.services import ticket_analyze
from remediation.tickets.models import Ticket, TicketOutcome
from remediation.tickets.services import TicketInput, ticket_create
from tests.support.approvals import approver

pytestmark = pytest.mark.django_db


def test_feedback_re_scores_the_ticket_but_not_the_score_its_decision_saw(
    lab, user, restart_runbook, client_for
):
    ticket = ticket_create(
        TicketInput(
            ticket_id="DECIDED-1",
            title="Service down on prod-web-01",
            description="The web service on prod-web-01 is not responding; the VM is hung.",
            category="server",
            affected_system="prod-web-01",
            enable_auto_remediation=True,
        ),
        acting_user=user,
    ).ticket
    ticket_analyze(ticket.pk)
    ticket.refresh_from_db()
    decided = ticket.decided_reliability_score
    assert decided is not None and decided == ticket.reliability_score

    carol = client_for(approver("carol"))
    r = carol.post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
        {"approve": False, "comment": "I restart it myself"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    r = carol.post(
        "/api/v1/feedback",
        {
            "ticket_id": ticket.ticket_id,
            "feedback_type": "positive",
            "rating": 5,
            "actions_worked": True,
            "actual_actions_taken": [{"operation": "restart_vm", "params": {"vm": "prod-web-01"}}],
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.outcome == TicketOutcome.SUCCESS
    assert ticket.reliability_score != decided  # re-scored with its own outcome counted
    assert ticket.decided_reliability_score == decided
    shown = carol.get(f"/api/v1/tickets/{ticket.ticket_id}").json()
    assert shown["decided_reliability_score"] == decided
