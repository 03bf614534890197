"""Decide on a ticket as the analysis task does, for tests that start from a stored ticket."""

from __future__ import annotations

from django.db import transaction

from remediation.decisions.rules.decision import Decision
from remediation.decisions.services import safety_facts_gather, ticket_decide
from remediation.tickets.models import Ticket


def decide(ticket: Ticket) -> Decision:
    """The connectors are asked first, outside any transaction; then the decision is stored
    inside one transaction with the row locked. ``ticket`` is refreshed afterwards."""
    facts = safety_facts_gather(ticket)
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        decision = ticket_decide(locked, facts=facts)
    ticket.refresh_from_db()
    return decision
