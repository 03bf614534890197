"""The execution service: the one choke point through which actions reach infrastructure.

Every path that can execute (auto-approval in ``ticket_decide``, a person's approval, a
re-delivered task, an admin action, a command) queues through ``execution_request`` and runs
through ``execution_run``. Nothing else calls a connector's ``execute``
(``tests/remediation/execution/test_choke_point.py`` enumerates the callers).

``execution_run`` in one short transaction: locks the ticket, claims the execution with a
conditional update (PENDING -> RUNNING; a second delivery finds it claimed and leaves),
re-checks the kill switch, the policy, the time window, the approval, the circuit breaker,
reserves the rate-limit budget under a row lock, and writes the audit record of intent. If
any of that (the audit write included) fails, the transaction rolls back and nothing runs.
Only after commit are connectors asked anything.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from config.errors import Conflict, Forbidden
from config.queue import urgent
from policies.selectors import owners_refusing
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.catalogue.rules.operations import CATALOGUE, SuggestedAction
from remediation.connectors.registry import get_connector
from remediation.execution import claim
from remediation.execution.models import (
    CircuitBreaker,
    Execution,
    ExecutionState,
    ExecutionStep,
    ExecutionVia,
    StepState,
)
from remediation.execution.runner import RunResult, run_actions
from remediation.investigation.services import cause_seen_again, evidence_recheck
from remediation.notifications.models import AdminEvent
from remediation.notifications.services import admins_notify_later, slack_update_later
from remediation.tickets import outcomes
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.transitions import ticket_transition

logger = logging.getLogger(__name__)

RUN_TASK = "remediation.execution.tasks.run_execution"
# Where an execution may be requested from: the last approval, or the decision itself.
REQUESTABLE = (TicketStatus.AWAITING_APPROVAL, TicketStatus.ANALYZED, TicketStatus.PROCESSING)


# --- The one place this service changes a ticket's status ---------------------------------


def _move_ticket(
    ticket: Ticket,
    status: TicketStatus,
    *,
    reason: str,
    acting_user: User | None = None,
    executed: bool | None = None,
    results: dict[str, Any] | None = None,
    outcome: TicketOutcome | None = None,
) -> None:
    """Move the ticket through the state machine (``ticket_transition``), with what moves
    with it: the execution's results and when remediation started.

    Precondition: inside the caller's transaction, ticket row locked. The only status write
    of the execution service.
    """
    extra: list[str] = []
    if results is not None:
        ticket.remediation_results = results
        extra.append("remediation_results")
    if status == TicketStatus.REMEDIATING and ticket.remediation_started_at is None:
        ticket.remediation_started_at = timezone.now()
        extra.append("remediation_started_at")
    ticket_transition(
        ticket,
        status,
        outcome=outcome,
        executed=executed,
        reason=reason[:2000],
        acting_user=acting_user,
        extra_fields=extra,
    )
    # The approval message in Slack, if the ticket has one, shows it (sent after commit).
    slack_update_later(
        ticket,
        key=f"status:{ticket.pk}:{ticket.updated_at.isoformat()}",
        event=status,
        detail=reason,
    )


# --- Requesting ----------------------------------------------------------------------------


def execution_request(ticket: Ticket, *, acting_user: User | None, via: str) -> None:
    """Queue the execution of ``ticket``'s actions and move it to ``remediating``.

    Preconditions: inside ``transaction.atomic()`` with the ticket row locked
    (``select_for_update``); the ticket is ``awaiting_approval`` (the last approval was just
    given) or being decided (auto-approved). The task is enqueued on the ORM broker in the
    same transaction, so it exists exactly when the request committed.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "execution_request must run inside the transaction that locked the ticket"
        )
    if ticket.status not in REQUESTABLE:
        raise Conflict(f"Ticket {ticket.ticket_id} is {ticket.status}; it cannot start executing")
    run = Execution.objects.filter(ticket=ticket).count() + 1
    execution = Execution.objects.create(
        ticket=ticket,
        run=run,
        key=f"{ticket.ticket_id}:{run}",
        via=ExecutionVia(via),
        requested_by=acting_user,
        policy_name=ticket.decision_policy,
        pattern=ticket.pattern,
        category=ticket.category,
        action_count=len(ticket.suggested_actions or []),
    )
    _move_ticket(
        ticket,
        TicketStatus.REMEDIATING,
        reason=f"Execution {execution.key} queued ({execution.get_via_display()})",
        acting_user=acting_user,
    )
    audit(
        AuditAction.EXECUTION_REQUESTED,
        f"Execution {execution.key} requested ({via})",
        ticket=ticket,
        acting_user=acting_user,
        details={"execution": execution.key, "via": via},
    )
    with urgent():  # ahead of a storm's analyses: a person may be waiting for it
        async_task(
            RUN_TASK, ticket.pk, task_name=f"execute {execution.key}"[:100], ack_failure=True
        )


# --- Running (the choke point) -----------------------------------------------------------


def execution_run(ticket_pk: int) -> str:
    """Claim and run the ticket's pending execution; returns what happened (task log).

    Safe to call any number of times, concurrently: only the caller whose conditional
    update claims the execution runs it; the others return ``skipped``.
    """
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_pk).first()
        if ticket is None:
            return "skipped: ticket does not exist"
        execution = (
            Execution.objects.filter(ticket=ticket, state=ExecutionState.PENDING)
            .order_by("run")
            .first()
        )
        if execution is None:
            return "skipped: nothing pending (already claimed or finished)"
        now = timezone.now()
        claimed = Execution.objects.filter(pk=execution.pk, state=ExecutionState.PENDING).update(
            state=ExecutionState.RUNNING, claimed_at=now
        )
        if claimed != 1:
            return "skipped: already claimed"
        execution.state = ExecutionState.RUNNING
        execution.claimed_at = now
        if ticket.status != TicketStatus.REMEDIATING:
            return _refuse(ticket, execution, f"the ticket is {ticket.status}, not remediating")
        actions, refusal = claim.recheck(ticket, execution, now)
        if refusal is not None:
            return _refuse(ticket, execution, refusal.reason, breaker=refusal.breaker)
        simulated = any(getattr(get_connector(a.platform), "simulated", False) for a in actions)
        Execution.objects.filter(pk=execution.pk).update(simulated=simulated)
        execution.simulated = simulated
        audit(
            AuditAction.EXECUTION_CLAIMED,
            f"Executing {execution.key}: {len(actions)} action(s) "
            + ", ".join(f"{a.operation} on {a.system}" for a in actions)
            + (" on the simulated lab" if simulated else ""),
            ticket=ticket,
            details={
                "execution": execution.key,
                "actions": [a.to_dict() for a in actions],
                "simulated": simulated,
                "via": execution.via,
            },
        )
    # Committed: the claim and the intent are durable before anything leaves the process.
    # Look again at what justified the write (outside any transaction: it asks the platform).
    gone = evidence_recheck(ticket.diagnosis, [a.to_dict() for a in actions])
    if gone:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_pk)
            why = f"checked again just before writing: {gone}"
            if execution.via == ExecutionVia.APPROVAL:
                why += "; the approval was given on that evidence and no longer applies"
            return _refuse(ticket, execution, why)
    result = run_actions(execution, actions)
    return _finish(ticket_pk, execution, actions, result)


def _refuse(ticket: Ticket, execution: Execution, reason: str, *, breaker: Any = None) -> str:
    Execution.objects.filter(pk=execution.pk).update(
        state=ExecutionState.REFUSED, finished_at=timezone.now(), reason=reason[:2000]
    )
    audit(
        AuditAction.EXECUTION_REFUSED,
        f"Execution {execution.key} refused: {reason}; nothing ran",
        ticket=ticket,
        details={"execution": execution.key, "reason": reason},
    )
    if breaker is not None:
        audit(
            AuditAction.CIRCUIT_OPENED,
            f"Circuit breaker opened for {breaker.target}: {breaker.reason}; a person re-arms it",
            ticket=ticket,
            pattern=breaker.pattern,
            details={"target": breaker.target, "breaker": breaker.pk},
        )
        admins_notify_later(
            ticket,
            AdminEvent.CIRCUIT_OPEN,
            key=f"breaker:{breaker.pk}:{breaker.opened_at.isoformat()}",
            subject=f"Circuit breaker opened for pattern {breaker.pattern_id} on {breaker.target}",
            detail=f"{breaker.reason}. Automatic execution of this pattern on {breaker.target} "
            "stops until a person re-arms the breaker.",
        )
    if ticket.status == TicketStatus.REMEDIATING:
        _move_ticket(
            ticket,
            TicketStatus.MANUAL_REVIEW,
            reason=f"Execution refused: {reason}; nothing ran, a person decides",
        )
    return f"refused: {reason}"


# An execution's end state as the administrators' event (success tells nobody).
ADMIN_EVENTS = {
    ExecutionState.FAILED: AdminEvent.FAILED,
    ExecutionState.ROLLED_BACK: AdminEvent.ROLLED_BACK,
    ExecutionState.UNKNOWN: AdminEvent.UNKNOWN,
}


def _notify_admins(ticket: Ticket, execution: Execution, state: str, reason: str) -> None:
    """Owe the administrators one mail for this execution's end (sent after commit)."""
    event = ADMIN_EVENTS[ExecutionState(state)]
    admins_notify_later(
        ticket,
        event,
        key=f"execution:{execution.key}:{state}",
        subject=f"{ticket.ticket_id}: {event.label}",
        detail=reason,
    )


def _results(execution: Execution, result: RunResult, success: bool) -> dict[str, Any]:
    steps = ExecutionStep.objects.filter(execution=execution).order_by("index")
    return {
        "success": success,
        "execution": execution.key,
        "simulated": execution.simulated,
        "executed_actions": [
            {
                "operation": s.operation,
                "system": s.target,
                "params": s.params,
                "kind": s.kind,
                "state": s.state,
                "detail": (s.result or {}).get("detail", "") if isinstance(s.result, dict) else "",
                "error": s.error,
            }
            for s in steps
        ],
        "rolled_back": result.rolled_back,
        "error": result.unknown or result.failure or None,
    }


def _finish(ticket_pk: int, execution: Execution, actions: list[Any], result: RunResult) -> str:
    ran = bool(result.ran)
    if result.unknown:
        state, status, outcome = ExecutionState.UNKNOWN, TicketStatus.MANUAL_REVIEW, None
        reason = f"Outcome unknown: {result.unknown}. Nothing is retried; a person reconciles."
    elif result.succeeded:
        state, status, outcome = (
            ExecutionState.SUCCEEDED,
            TicketStatus.RESOLVED,
            TicketOutcome.SUCCESS,
        )
        reason = f"Executed {len(actions)} action(s); every post-check passed"
    elif result.rollback_failed:
        state, status, outcome = ExecutionState.FAILED, TicketStatus.FAILED, TicketOutcome.FAILURE
        reason = f"{result.failure}; rollback failed: {result.rollback_failed}"
    elif not ran:
        state, status, outcome = ExecutionState.FAILED, TicketStatus.FAILED, TicketOutcome.FAILURE
        reason = f"{result.failure}; nothing ran"
    else:
        state, status = ExecutionState.ROLLED_BACK, TicketStatus.PARTIALLY_REMEDIATED
        outcome = TicketOutcome.FAILURE
        reason = f"{result.failure}; rolled back what ran ({result.rolled_back} step(s) undone)"
    # An unknown write may have run: count it as executed until a person says otherwise.
    executed = ran or bool(result.unknown)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_pk)
        Execution.objects.filter(pk=execution.pk, state=ExecutionState.RUNNING).update(
            state=state, finished_at=timezone.now(), reason=reason[:2000]
        )
        audit(
            AuditAction.EXECUTION_UNKNOWN if result.unknown else AuditAction.EXECUTION_FINISHED,
            f"Execution {execution.key} {state}: {reason}",
            ticket=ticket,
            details={"execution": execution.key, "state": state, "rolled_back": result.rolled_back},
        )
        if ticket.status == TicketStatus.REMEDIATING:
            _move_ticket(
                ticket,
                status,
                reason=reason,
                executed=executed,
                results=_results(execution, result, state == ExecutionState.SUCCEEDED),
                outcome=outcome,
            )
        if state != ExecutionState.SUCCEEDED:
            _notify_admins(ticket, execution, state, reason)
        else:
            # Its alerts may have resolved while the post-checks ran: the environment's
            # confirmation counts from the moment the fix is measured.
            outcomes.fix_confirm_by_alerts(ticket)
            if outcomes.hold().total_seconds() > 0:
                # Confirmed later, in the same transaction as the success it would confirm.
                schedule(
                    CONFIRM_TASK,
                    ticket_pk,
                    name=f"hold {execution.key}"[:100],
                    schedule_type=Schedule.ONCE,
                    next_run=timezone.now() + outcomes.hold(),
                    repeats=1,
                )
    return str(state)


CONFIRM_TASK = "remediation.tasks.confirm_fix"


def fix_confirm(ticket_pk: int) -> str:
    """At the end of a measured fix's hold time: did it hold? An alert of the ticket still
    firing, or the observed cause seen again (read-only tools, outside any transaction),
    means it did not: the ticket fails and the pattern counts a failure. Otherwise the
    success is confirmed (``fix_held_at``). A platform that does not answer confirms
    nothing either way; the alerts alone then decide."""
    ticket = Ticket.objects.filter(pk=ticket_pk).first()
    if ticket is None or not _awaits_confirmation(ticket):
        return "nothing to confirm"
    firing = ticket.alerts.filter(status="firing").count()  # type: ignore[attr-defined]
    again = cause_seen_again(ticket.diagnosis) if not firing else None
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket_pk)
        if not _awaits_confirmation(locked):
            return "nothing to confirm"
        if firing:
            why = f"{firing} alert(s) of the ticket still firing"
        elif again:
            label = str((locked.diagnosis or {}).get("cause_label") or "the cause")
            why = f"{label} is seen again on the same object"
        else:
            how = "the cause is no longer seen" if again is False else "nothing came back"
            outcomes.fix_held(locked, how=how)  # audited, and its Slack message told
            return "held"
        # ``fix_did_not_hold`` moves the ticket itself, not through ``_move_ticket``, and
        # tells its Slack message
        outcomes.fix_did_not_hold(locked, why=why)
        return "did not hold"


def _awaits_confirmation(ticket: Ticket) -> bool:
    return (
        ticket.status == TicketStatus.RESOLVED
        and ticket.outcome == TicketOutcome.SUCCESS
        and ticket.auto_remediation_executed
        and ticket.fix_held_at is None
    )


# --- Sweeping what a dead worker left ------------------------------------------------------


def execution_sweep(*, now: Any = None) -> dict[str, int]:
    """Mark executions left RUNNING past ``EXECUTION_STALE_SECONDS`` as unknown (nothing
    re-runs a write by itself), and re-queue PENDING ones whose task was lost."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=float(settings.EXECUTION_STALE_SECONDS))
    marked = 0
    for execution in Execution.objects.filter(state=ExecutionState.RUNNING, claimed_at__lt=stale):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=execution.ticket_id)
            if not Execution.objects.filter(pk=execution.pk, state=ExecutionState.RUNNING).update(
                state=ExecutionState.UNKNOWN,
                finished_at=now,
                reason="Left running by a worker that stopped; the outcome is unknown",
            ):
                continue
            ExecutionStep.objects.filter(execution=execution, state=StepState.RUNNING).update(
                state=StepState.UNKNOWN, finished_at=now
            )
            reason = (
                f"Execution {execution.key} was left running by a worker that stopped; "
                "the outcome is unknown. Nothing is retried; a person reconciles."
            )
            audit(
                AuditAction.EXECUTION_UNKNOWN,
                reason,
                ticket=ticket,
                details={"execution": execution.key},
            )
            if ticket.status == TicketStatus.REMEDIATING:
                started = ExecutionStep.objects.filter(execution=execution).exists()
                _move_ticket(ticket, TicketStatus.MANUAL_REVIEW, reason=reason, executed=started)
            _notify_admins(ticket, execution, ExecutionState.UNKNOWN, reason)
            marked += 1
    requeued = 0
    for execution in Execution.objects.filter(state=ExecutionState.PENDING, requested_at__lt=stale):
        with urgent():
            async_task(
                RUN_TASK,
                execution.ticket_id,
                task_name=f"execute {execution.key}"[:100],
                ack_failure=True,
            )
        requeued += 1
    return {"unknown": marked, "requeued": requeued}


# --- Circuit breakers ----------------------------------------------------------------------


def breaker_rearm(breaker: CircuitBreaker, *, acting_user: User) -> bool:
    """A person re-arms an open circuit breaker: automatic execution of that pattern on that
    target may run again, counting from now. Returns False when it was not open."""
    with transaction.atomic():
        locked = CircuitBreaker.objects.select_for_update().get(pk=breaker.pk)
        if not locked.is_open:
            return False
        locked.is_open = False
        locked.rearmed_at = timezone.now()
        locked.rearmed_by = acting_user
        locked.save(update_fields=["is_open", "rearmed_at", "rearmed_by"])
        audit(
            AuditAction.CIRCUIT_REARMED,
            f"Circuit breaker for {locked.target} re-armed by {acting_user.get_username()}",
            pattern=locked.pattern,
            acting_user=acting_user,
            details={"target": locked.target, "breaker": locked.pk},
        )
    return True


# --- Reconciling an unknown outcome ------------------------------------------------------


def execution_observe(execution: Execution) -> list[dict[str, Any]]:
    """The read-only check a person starts from: each unknown step's target as its
    connector sees it now (no write tool is called). Outside any transaction."""
    observed = []
    for step in execution.steps.filter(state=StepState.UNKNOWN).order_by("index"):
        action = SuggestedAction.from_dict(
            {"operation": step.operation, "params": step.params, "system": step.target}
        )
        connector = get_connector(step.platform)
        try:
            with connector.session():  # type: ignore[attr-defined]
                state = connector.target_state(action)  # type: ignore[attr-defined]
                passed, checks = connector.post_check(  # type: ignore[attr-defined]
                    action, CATALOGUE[step.operation].checks
                )
        except Exception as exc:  # a person reads this; any failure is shown, not raised
            observed.append({"step": step.index, "error": str(exc)[:500]})
            continue
        observed.append(
            {
                "step": step.index,
                "target": step.target,
                "post_checks_pass": passed,
                "checks": checks,
                "state": state,
            }
        )
    return observed


# The permission trusted feedback takes: settling an outcome teaches as much as feedback.
RECONCILE_PERMISSION = "feedback.teach"


def execution_reconcile(
    execution: Execution, *, worked: bool, acting_user: User, note: str
) -> None:
    """A person settles an unknown outcome after looking at the target: the ticket ends
    ``resolved`` (success) or ``failed`` (failure). Nothing is re-run.

    The verdict teaches (the outcome feeds the pattern's success rate), so it asks what
    trusted feedback asks: the teaching permission, not the ticket's own submitter, and a
    member of the team that owns the ticket when one does.
    Raises ``Forbidden`` otherwise, changing nothing."""
    if not acting_user.is_active or not acting_user.has_perm(RECONCILE_PERMISSION):
        raise Forbidden(
            f"{acting_user.get_username()} may not settle an outcome: it takes the "
            f"{RECONCILE_PERMISSION} permission (the Operators group)"
        )
    submitted_by, category, system, ticket_id = Ticket.objects.values_list(
        "submitted_by_id", "category", "affected_system", "ticket_id"
    ).get(pk=execution.ticket_id)
    if acting_user.pk == submitted_by:
        raise Forbidden(
            f"{acting_user.get_username()} submitted this ticket and may not settle its outcome"
        )
    owners = owners_refusing(acting_user, category, system)
    if owners:
        raise Forbidden(
            f"Ticket {ticket_id} belongs to team {', '.join(t.name for t in owners)}; only its "
            f"members settle its outcome (the verdict teaches the system).",
            code="not_your_team",
        )
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=execution.ticket_id)
        locked = Execution.objects.select_for_update().get(pk=execution.pk)
        if locked.state != ExecutionState.UNKNOWN:
            raise Conflict(f"Execution {locked.key} is {locked.state}, not unknown")
        if ticket.status != TicketStatus.MANUAL_REVIEW:
            raise Conflict(f"Ticket {ticket.ticket_id} is {ticket.status}, not manual_review")
        verdict = "worked" if worked else "did not work"
        audit(
            AuditAction.EXECUTION_RECONCILED,
            f"{acting_user.get_username()} reconciled {locked.key}: it {verdict} ({note})",
            ticket=ticket,
            acting_user=acting_user,
            details={"execution": locked.key, "worked": worked, "note": note},
        )
        _move_ticket(
            ticket,
            TicketStatus.RESOLVED if worked else TicketStatus.FAILED,
            reason=f"Unknown outcome reconciled by {acting_user.get_username()}: {note}",
            acting_user=acting_user,
            executed=True,
            outcome=TicketOutcome.SUCCESS if worked else TicketOutcome.FAILURE,
        )
