"""Load the ticket a person gives feedback on, and check they may see it.

Who may see a ticket is decided once, in ``remediation.tickets.access`` (its submitter; staff;
holders of ``remediation.approve_remediation`` or ``remediation.view_ticket``). A ticket
the caller may not see answers 404 exactly like a missing one, so ids cannot be probed.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from config.errors import NotFound
from remediation.tickets.access import visible_tickets
from remediation.tickets.models import Ticket


def ticket_for_feedback(user: User | AnonymousUser, ticket_id: str) -> Ticket:
    ticket = visible_tickets(user).select_related("pattern").filter(ticket_id=ticket_id).first()
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id!r}.", fields={"ticket_id": ["Not found."]})
    return ticket
