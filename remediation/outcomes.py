"""Changing a ticket's outcome, and auditing pattern eligibility changes.

The outcome (unknown / success / failure) feeds the category's success history and the
pattern's statistics, so it changes in one place only: ``remediation.transitions.
ticket_transition`` (``ticket_set_outcome`` is a shortcut for an outcome-only step).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from remediation.models import Ticket, TicketOutcome
from remediation.transitions import audit_eligibility_change, ticket_transition

__all__ = ["audit_eligibility_change", "ticket_set_outcome"]


def ticket_set_outcome(
    ticket: Ticket,
    outcome: str,
    *,
    acting_user: User | None,
    reason: str,
) -> bool:
    """Set the ticket's outcome without changing its status; returns False (writing
    nothing) when it already is that outcome.

    Goes through ``ticket_transition``, so only what the lifecycle allows (e.g. failure on
    an ``analyzed`` ticket a person judged) is accepted. The ticket row is locked and
    re-read here, so the old outcome moved out of the rollups is the one actually stored.
    """
    new = TicketOutcome(outcome)
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.outcome == new:
            ticket.outcome = new
            return False
        ticket_transition(
            locked, locked.status, outcome=new, reason=reason, acting_user=acting_user
        )
        ticket.outcome = new
        ticket.updated_at = locked.updated_at
        ticket._stored_state = locked.state
    return True
