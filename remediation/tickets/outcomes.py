"""Outcomes that measure correctness: a fix is confirmed later, not only by its post-checks.

An execution's post-checks say the fault was gone a moment after the write. A fix that
"worked" and came back within ``OUTCOME_HOLD_SECONDS`` did not fix it: the ticket moves
from ``resolved`` (success) to ``failed`` (failure), the pattern counts a failure instead of
a success (the one outcome change the lifecycle allows, ``DID_NOT_HOLD``), and the audit
trail says why. It came back when

* the same incident is reported again by the same sender (a new firing of the alert, the
  same ticket again) within the hold time: storm control notices it at intake; or
* the delayed re-check at the end of the hold time (``execution.services.fix_confirm``)
  still sees an alert of the ticket firing, or sees the observed cause again.

Otherwise the re-check marks the fix as held (``fix_held_at``). A success a person
confirmed by hand is never moved: nothing measured it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.transitions import ticket_transition


def hold() -> timedelta:
    return timedelta(seconds=int(settings.OUTCOME_HOLD_SECONDS))


def on_hold(ticket: Ticket, now: datetime | None = None) -> bool:
    """A fix measured by an execution, not yet confirmed, still within its hold time."""
    if hold() <= timedelta(0) or ticket.fix_held_at is not None:
        return False
    if ticket.status != TicketStatus.RESOLVED or ticket.outcome != TicketOutcome.SUCCESS:
        return False
    if not ticket.auto_remediation_executed or ticket.resolved_at is None:
        return False
    return (now or timezone.now()) - ticket.resolved_at < hold()


def fix_did_not_hold(ticket: Ticket, *, why: str) -> None:
    """The measured fix came back: failed, a failure for the pattern. ``ticket`` is the
    locked instance, inside the transaction that holds its row lock."""
    ticket_transition(
        ticket,
        TicketStatus.FAILED,
        outcome=TicketOutcome.FAILURE,
        executed=True,
        reason=f"The fix did not hold: {why}",
    )
    audit(
        AuditAction.FIX_DID_NOT_HOLD,
        f"The fix did not hold: {why}",
        ticket=ticket,
        details={
            "why": why,
            "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        },
    )


def fix_held(ticket: Ticket, *, how: str) -> None:
    """Nothing came back within the hold time: the measured success stands, confirmed."""
    ticket.fix_held_at = timezone.now()
    ticket.save(update_fields=["fix_held_at", "updated_at"])
    audit(
        AuditAction.FIX_HELD,
        f"The fix held for {int(hold().total_seconds())} s: {how}",
        ticket=ticket,
        details={"how": how},
    )
