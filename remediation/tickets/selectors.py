"""Reads of tickets and their audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from patterns.models import Pattern
from remediation.audit.models import AuditEvent
from remediation.tickets.models import FixEvidence, Ticket, TicketStatus


def ticket_get(pk: int) -> Ticket:
    return Ticket.objects.select_related("submitted_by", "pattern").get(pk=pk)


def ticket_list(
    tickets: QuerySet[Ticket], *, status: str | None = None, category: str | None = None
) -> QuerySet[Ticket]:
    if status:
        tickets = tickets.filter(status=status)
    if category:
        tickets = tickets.filter(category=category.lower())
    return tickets.select_related("submitted_by", "pattern").order_by("-created_at", "-id")


def ticket_audit_trail(ticket: Ticket) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(ticket=ticket).order_by("created_at", "id")


def alert_note(ticket: Ticket) -> str | None:
    """The sentence a ticket's page shows when its alert went away by itself."""
    if ticket.alert_resolved_at is None:
        return None
    at = f"{ticket.alert_resolved_at:%Y-%m-%d %H:%M:%S %Z}"
    if ticket.status == TicketStatus.AWAITING_APPROVAL:
        return (
            f"The alert behind this ticket resolved by itself at {at}, before anyone approved: "
            "check whether the remediation is still needed."
        )
    if ticket.fix_held_by == FixEvidence.ALERT_RESOLVED:
        return (
            f"The alert behind this ticket resolved at {at}, after the remediation: the "
            "environment confirmed the fix."
        )
    return f"The alert behind this ticket resolved by itself at {at}."


def pattern_ref(ticket: Ticket) -> Pattern | int:
    """What to hand ``patterns.services.pattern_update`` for the ticket's pattern: the
    instance the ticket already holds (kept current by the update), else only its id, so
    the update's locked read is the one read of the row."""
    if Ticket.pattern.is_cached(ticket):  # type: ignore[attr-defined]
        assert ticket.pattern is not None
        return ticket.pattern
    assert ticket.pattern_id is not None
    return ticket.pattern_id
