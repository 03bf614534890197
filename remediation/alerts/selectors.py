"""Reads for alert intake: the mapping rules, and what a ticket's page says about its alert."""

from __future__ import annotations

from remediation.alerts.models import AlertMapping
from remediation.alerts.rules import MappingRule
from remediation.tickets.models import Ticket, TicketStatus


def alert_mapping_rules() -> list[MappingRule]:
    return [
        m.as_rule() for m in AlertMapping.objects.filter(enabled=True).order_by("priority", "name")
    ]


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
    return f"The alert behind this ticket resolved by itself at {at}."
