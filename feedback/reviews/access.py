"""Who may work the review queue, and loading a ticket for it (load and authorize)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from config.errors import Forbidden, NotFound
from remediation.approvals.access import team_refusal
from remediation.tickets.access import can_see_all_tickets
from remediation.tickets.models import Ticket


def may_review(user: User | AnonymousUser) -> bool:
    """Staff, Operators (``feedback.teach``) and Approvers (``approve_remediation``) who see
    every ticket: the queue lists everyone's."""
    return bool(
        user.is_authenticated
        and user.is_active
        and can_see_all_tickets(user)
        and (
            user.is_staff
            or user.has_perm("feedback.teach")
            or user.has_perm("remediation.approve_remediation")
        )
    )


def may_act_on(user: User | AnonymousUser, ticket: Ticket) -> str | None:
    """None when ``user`` may work ``ticket``'s review (take, hand fix, close), else why not."""
    if not may_review(user):
        return "You may not work the review queue."
    refusal = team_refusal(user, ticket)
    return refusal.message if refusal is not None else None


def ticket_for_review(ticket_id: str, user: User | AnonymousUser, *, lock: bool = False) -> Ticket:
    if not may_review(user):
        raise Forbidden("You may not work the review queue.", code="not_allowed")
    tickets = Ticket.objects.select_for_update() if lock else Ticket.objects
    ticket = tickets.filter(ticket_id=ticket_id[:64]).first()
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id!r}.", fields={"ticket_id": ["Not found."]})
    refusal = team_refusal(user, ticket)
    if refusal is not None:  # a team owns it, and user is not one of its members
        raise Forbidden(refusal.message, code=refusal.code)
    return ticket
