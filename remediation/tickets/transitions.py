"""The one door every ticket status write goes through.

``ticket_transition`` checks the step against ``remediation.tickets.rules.lifecycle`` (the pure
rules),
saves the ticket, writes the audit trail and, when the outcome changes, moves the category
rollups and the pattern statistics with it, all in the caller's transaction. Other parts
(approvals, execution, reconciliation) call it; nothing else assigns ``Ticket.status``.

Typical calls::

    ticket_transition(t, TicketStatus.REMEDIATING, executed=True, reason="approved by ann")
    ticket_transition(t, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS,
                      reason="post-checks passed")
    ticket_transition(t, TicketStatus.MANUAL_REVIEW, reason="execution timed out")
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from patterns import services as pattern_services
from patterns.services import EligibilityChange
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.tickets import rollups
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.rules import lifecycle

IllegalTransition = lifecycle.IllegalTransition


def ticket_transition(
    ticket: Ticket,
    to_status: str,
    *,
    outcome: str | None = None,
    executed: bool | None = None,
    reason: str,
    acting_user: User | None = None,
    extra_fields: Sequence[str] = (),
    update_pattern: bool = True,
) -> EligibilityChange | None:
    """Move ``ticket`` to ``to_status`` (and ``outcome``/``executed`` when given).

    Preconditions: inside a transaction that holds the ticket's row lock
    (``select_for_update``), with ``ticket`` the locked instance. Raises
    ``IllegalTransition`` (a ``ValueError``), changing nothing, when the lifecycle forbids
    the step. ``extra_fields`` are other fields the caller set on ``ticket`` to be saved
    in the same write (e.g. ``status_reason`` is always saved, ``remediation_results``).

    ``update_pattern=False`` leaves the pattern's success/failure counts to the caller,
    which then applies them in its own single pattern update (the feedback service does);
    the returned eligibility change is then None. Otherwise returns the pattern's
    eligibility change (already audited), if any.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ticket_transition must run inside the transaction holding the lock")
    old = ticket.state
    new = lifecycle.State(
        status=str(TicketStatus(to_status)),
        outcome=str(TicketOutcome(outcome)) if outcome is not None else old.outcome,
        executed=old.executed if executed is None else bool(executed),
    )
    lifecycle.check_transition(old, new)
    if new == old and not extra_fields:
        return None

    ticket.status = TicketStatus(new.status)
    ticket.outcome = TicketOutcome(new.outcome)
    ticket.auto_remediation_executed = new.executed
    ticket.status_reason = reason
    fields = {"status", "outcome", "auto_remediation_executed", "status_reason", "updated_at"}
    if new.status == lifecycle.RESOLVED and ticket.resolved_at is None:
        ticket.resolved_at = timezone.now()
        fields.add("resolved_at")
    fields.update(extra_fields)
    ticket.save(update_fields=sorted(fields))

    if new.status != old.status:
        audit(
            AuditAction.STATUS_CHANGED,
            f"Status {old.status} -> {new.status}: {reason}",
            ticket=ticket,
            acting_user=acting_user,
            details={"from": old.status, "to": new.status, "reason": reason},
        )
    change = None
    if new.outcome != old.outcome:
        audit(
            AuditAction.OUTCOME_CHANGED,
            f"Outcome {old.outcome} -> {new.outcome}: {reason}",
            ticket=ticket,
            acting_user=acting_user,
            details={"old": old.outcome, "new": new.outcome, "reason": reason},
        )
        rollups.record_outcome_change(ticket, old.outcome, new.outcome)
        if update_pattern and ticket.pattern_id is not None:
            change = pattern_services.pattern_record_outcome(
                ticket.pattern,  # type: ignore[arg-type]
                old=old.outcome,
                new=new.outcome,
                remediated=new.executed,
            )
            audit_eligibility_change(change, ticket=ticket, acting_user=acting_user)
    return change


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
