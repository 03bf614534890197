"""The lifecycle enforced by the model, by ticket_transition and by the database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.rules.lifecycle import IllegalTransition, allowed_combinations
from remediation.tickets.transitions import ticket_transition
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("status", "outcome", "executed"),
    [
        ("resolved", "failure", False),
        ("analyzed", "success", False),
        ("processing", "unknown", True),
    ],
)
def test_the_database_refuses_a_forbidden_state_even_past_the_model(status, outcome, executed):
    ticket = TicketFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(
            status=status, outcome=outcome, auto_remediation_executed=executed
        )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == ("processing", "unknown")


def test_every_allowed_state_can_be_stored():
    for n, (status, outcome, executed) in enumerate(allowed_combinations()):
        Ticket.objects.filter(pk=TicketFactory(ticket_id=f"OK-{n}").pk).update(
            status=status, outcome=outcome, auto_remediation_executed=executed
        )


def test_the_model_refuses_a_forbidden_step_from_what_it_loaded():
    ticket = TicketFactory(status=TicketStatus.RESOLVED)
    loaded = Ticket.objects.get(pk=ticket.pk)
    loaded.outcome = "failure"
    loaded.status = "manual_review"
    with pytest.raises(IllegalTransition, match="cannot go from resolved"):
        loaded.save()


def test_ticket_transition_audits_and_refuses_illegal_steps():
    ticket = TicketFactory(status=TicketStatus.ANALYZED)
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        with pytest.raises(IllegalTransition):
            ticket_transition(locked, TicketStatus.PARTIALLY_REMEDIATED, reason="x")
        ticket_transition(locked, TicketStatus.AWAITING_APPROVAL, reason="needs approval")
        ticket_transition(locked, TicketStatus.REMEDIATING, executed=True, reason="approved")
        ticket_transition(locked, TicketStatus.RESOLVED, outcome="success", reason="checks ok")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome, ticket.auto_remediation_executed) == (
        "resolved",
        "success",
        True,
    )
    assert ticket.resolved_at is not None
    steps = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.STATUS_CHANGED)
    assert [e.details["to"] for e in steps.order_by("id")] == [
        "awaiting_approval",
        "remediating",
        "resolved",
    ]
    assert AuditEvent.objects.filter(ticket=ticket, action=AuditAction.OUTCOME_CHANGED).count() == 1
