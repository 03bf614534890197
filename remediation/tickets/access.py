"""Load tickets *and* check the caller may see them, in one place.

Submitters see their own tickets, and any ticket a submission of theirs joined (storm
control). A submission's own ticket_id keeps answering after it joined: it leads to the
ticket it became part of. Staff, and users who may approve remediation or hold
``remediation.view_ticket``, see every ticket. A ticket the caller may not see answers 404,
exactly like a ticket that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Q, QuerySet

from config.errors import NotFound
from remediation.tickets.models import Ticket, TicketRepeat

SEE_ALL_PERMISSIONS = ("remediation.view_ticket", "remediation.approve_remediation")


def can_see_all_tickets(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False):
        return True
    return any(user.has_perm(p) for p in SEE_ALL_PERMISSIONS)


def visible_tickets(user: User | AnonymousUser) -> QuerySet[Ticket]:
    if not user.is_authenticated:
        return Ticket.objects.none()
    if can_see_all_tickets(user):
        return Ticket.objects.all()
    joined = TicketRepeat.objects.filter(ticket=OuterRef("pk"), submitted_by=user)
    return Ticket.objects.filter(Q(submitted_by=user) | Exists(joined))


def ticket_for_user(user: User | AnonymousUser, ticket_id: str) -> Ticket:
    tickets = visible_tickets(user).select_related("submitted_by", "pattern")
    ticket = tickets.filter(ticket_id=ticket_id).first()
    if ticket is None and user.is_authenticated:
        # A submission that joined another ticket: its id leads there, for its submitter.
        repeat = TicketRepeat.objects.filter(submitted_ticket_id=ticket_id).first()
        if repeat is not None and (repeat.submitted_by_id == user.pk or can_see_all_tickets(user)):
            ticket = tickets.filter(pk=repeat.ticket_id).first()
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id!r}.", fields={"ticket_id": ["Not found."]})
    return ticket
