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

from patterns.services import EligibilityChange, PatternChange, outcome_moved, pattern_update
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.tickets import rollups
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.rules import lifecycle
from remediation.tickets.selectors import pattern_ref


def ticket_transition(
    ticket: Ticket,
    to_status: str,
    *,
    outcome: str | None = None,
    executed: bool | None = None,
    reason: str,
    acting_user: User | None = None,
    extra_fields: Sequence[str] = (),
    pattern_changes: Sequence[PatternChange] = (),
) -> EligibilityChange | None:
    """Move ``ticket`` to ``to_status`` (and ``outcome``/``executed`` when given).

    Preconditions: inside a transaction that holds the ticket's row lock
    (``select_for_update``), with ``ticket`` the locked instance. Raises
    ``lifecycle.IllegalTransition`` (a ``ValueError``), changing nothing, when the lifecycle forbids
    the step. ``extra_fields`` are other fields the caller set on ``ticket`` to be saved
    in the same write (e.g. ``status_reason`` is always saved, ``remediation_results``).

    When the outcome changes, the ticket's pattern counts it; ``pattern_changes`` are
    further changes of that pattern (a feedback's, its re-scoring) applied after it in
    the same ``pattern_update``, so one event is one pattern write. Returns the pattern's
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
    if new == old and not extra_fields and not pattern_changes:
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
    changes = list(pattern_changes)
    if new.outcome != old.outcome:
        audit(
            AuditAction.OUTCOME_CHANGED,
            f"Outcome {old.outcome} -> {new.outcome}: {reason}",
            ticket=ticket,
            acting_user=acting_user,
            details={"old": old.outcome, "new": new.outcome, "reason": reason},
        )
        rollups.record_outcome_change(ticket, old.outcome, new.outcome)
        rollups.record_calibration_change(
            rollups.calibration_key(ticket, old.outcome), rollups.calibration_key(ticket)
        )
        changes.insert(
            0,
            outcome_moved(
                old=old.outcome,
                new=new.outcome,
                remediated=new.executed,
                score=ticket.reliability_score,
            ),
        )
    if not changes or ticket.pattern_id is None:
        return None
    return pattern_update(
        pattern_ref(ticket),
        *changes,
        ticket=ticket,
        acting_user=acting_user,
    )
