"""Load the ticket a person gives feedback on, check they may see it, and whether their
feedback may teach.

Who may see a ticket is decided once, in ``remediation.tickets.access`` (its submitter; staff;
holders of ``remediation.approve_remediation`` or ``remediation.view_ticket``). A ticket
the caller may not see answers 404 exactly like a missing one, so ids cannot be probed.

Whose feedback teaches is decided once, in ``feedback_trust``, which the feedback service
asks for every feedback, from the API, the review queue's page and the demo history alike.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from config.errors import Forbidden, NotFound
from remediation.approvals.access import team_refusal
from remediation.tickets.access import visible_tickets
from remediation.tickets.models import Ticket

TEACH_PERMISSION = "feedback.teach"


def ticket_for_feedback(user: User | AnonymousUser, ticket_id: str) -> Ticket:
    ticket = visible_tickets(user).select_related("pattern").filter(ticket_id=ticket_id).first()
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id!r}.", fields={"ticket_id": ["Not found."]})
    return ticket


def feedback_trust(user: User, ticket: Ticket) -> bool:
    """May ``user``'s feedback on ``ticket`` teach the system (pattern statistics, the
    outcome, learned runbooks, the calibration)?

    * False — stored and shown, it weighs nothing — for the ticket's submitter and for
      anyone without ``feedback.teach`` (the Operators group): a submitter, a service
      account's token.
    * True for a holder of ``feedback.teach`` when no team owns the ticket (by category or
      system), or when they are a member of a team that does.
    * Refused (``Forbidden``, ``not_your_team``: 403 naming the owning team) for a holder
      of ``feedback.teach`` outside the owning team: whoever may teach a team's tickets may
      make the system act on them, so only the team decides them, as for approvals and
      the review queue (``remediation.approvals.access.team_refusal``).
    """
    if user.pk == ticket.submitted_by_id or not user.has_perm(TEACH_PERMISSION):
        return False
    refusal = team_refusal(user, ticket)
    if refusal is not None:
        raise Forbidden(
            f"{refusal.message} Your feedback would teach the system, so it is refused.",
            code=refusal.code,
            fields={"ticket_id": [refusal.message]},
        )
    return True
