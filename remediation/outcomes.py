"""Changing a ticket's outcome, and everything that must move with it.

The outcome (unknown / success / failure) feeds the category's success history and the
pattern's statistics, so it changes in one place only: ``ticket_set_outcome``.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from patterns import services as pattern_services
from patterns.services import EligibilityChange
from remediation import rollups
from remediation.audit import audit
from remediation.models import AuditAction, Ticket, TicketOutcome, TicketStatus

# Where a person may close a ticket by confirming the fix worked: nothing is in flight.
# (Awaiting approval or remediating, the approval or the execution decides instead.)
CONFIRMABLE_STATUSES = (TicketStatus.ANALYZED, TicketStatus.MANUAL_REVIEW)


def audit_eligibility_change(
    change: EligibilityChange | None,
    *,
    ticket: Ticket | None = None,
    acting_user: User | None = None,
) -> None:
    """Write the audit event of a pattern eligibility flip returned by ``patterns.services``.

    Must run inside the transaction that changed the pattern. ``None`` writes nothing, so
    callers pass whatever the pattern service returned.
    """
    if change is None:
        return
    pattern = change.pattern
    verdict = "eligible" if change.eligible else "no longer eligible"
    audit(
        AuditAction.PATTERN_ELIGIBILITY_CHANGED,
        f"Pattern {pattern.signature} is {verdict} for auto-remediation: "
        + " ".join(change.reasons),
        ticket=ticket,
        pattern=pattern,
        acting_user=acting_user,
        details={
            "pattern": pattern.hash,
            "eligible": change.eligible,
            "reasons": change.reasons,
            "occurrence_count": pattern.occurrence_count,
            "positive_feedback_rate": pattern.positive_feedback_rate,
            "avg_reliability_score": pattern.avg_reliability_score,
            "auto_remediation_attempts": pattern.auto_remediation_attempts,
            "auto_remediation_success_rate": pattern.auto_remediation_success_rate,
        },
    )


def ticket_set_outcome(
    ticket: Ticket,
    outcome: str,
    *,
    acting_user: User | None,
    reason: str,
) -> bool:
    """Set the ticket's outcome; returns False (and writes nothing) when it already is.

    Preconditions: inside the caller's transaction (one is opened if not). The ticket row is
    locked and re-read here, so the old outcome moved out of the rollups and the pattern is
    the one actually stored, even when two events conclude the same ticket at once.

    In the same transaction: the ticket, an OUTCOME_CHANGED audit event, the category-day
    success/failure counts, the pattern's success/failure counts and, when the ticket's
    actions were executed (``auto_remediation_executed``), the pattern's remediation
    attempts and successes, plus an eligibility audit event when that flips.
    """
    new = TicketOutcome(outcome)
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        old = TicketOutcome(locked.outcome)
        if old == new:
            ticket.outcome = old
            return False
        locked.outcome = new
        locked.save(update_fields=["outcome", "updated_at"])
        ticket.outcome = new
        ticket.updated_at = locked.updated_at
        audit(
            AuditAction.OUTCOME_CHANGED,
            f"Outcome {old} -> {new}: {reason}",
            ticket=locked,
            acting_user=acting_user,
            details={"old": str(old), "new": str(new), "reason": reason},
        )
        rollups.record_outcome_change(locked, str(old), str(new))
        if locked.pattern is not None:
            change = pattern_services.pattern_record_outcome(
                locked.pattern,
                old=str(old),
                new=str(new),
                remediated=locked.auto_remediation_executed,
            )
            audit_eligibility_change(change, ticket=locked, acting_user=acting_user)
    return True


def ticket_confirm_resolved(ticket: Ticket, *, acting_user: User, reason: str) -> bool:
    """A person confirmed the fix worked (SPEC §2 ``resolved``): close a ticket that is
    waiting on a person. Returns False, changing nothing, when the ticket is elsewhere.

    Precondition: the caller's transaction holds the ticket row lock.
    """
    if ticket.status not in CONFIRMABLE_STATUSES:
        return False
    old = ticket.status
    ticket.status = TicketStatus.RESOLVED
    ticket.status_reason = reason
    ticket.resolved_at = timezone.now()
    ticket.save(update_fields=["status", "status_reason", "resolved_at", "updated_at"])
    audit(
        AuditAction.STATUS_CHANGED,
        f"Status {old} -> {ticket.status}: {reason}",
        ticket=ticket,
        acting_user=acting_user,
        details={"from": str(old), "to": str(ticket.status), "reason": reason},
    )
    return True
