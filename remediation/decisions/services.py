"""Deciding what happens to an analyzed ticket: gather the facts, run the engine, store it."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from config.errors import Conflict
from policies.selectors import (
    PAUSED_PREFIX,
    global_settings,
    pause_in_force,
    pause_sentence,
    policy_for_category,
)
from remediation.approvals.selectors import rejected_operations_for_pattern
from remediation.approvals.services import approval_request_open
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.catalogue.rules.operations import validate_suggestions
from remediation.catalogue.rules.policy import backup_needed
from remediation.decisions import safety
from remediation.decisions.rules.decision import (
    Decision,
    DecisionInput,
    Outcome,
    PatternFacts,
    SafetyFacts,
    decide,
    observed_basis,
)
from remediation.decisions.rules.whatif import record_facts
from remediation.execution.models import ExecutionVia
from remediation.execution.services import execution_request
from remediation.scoring.services import ticket_probability
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.transitions import ticket_transition

# Where each outcome sends the ticket.
NEXT_STATUS: dict[Outcome, TicketStatus] = {
    Outcome.NOT_ENABLED: TicketStatus.ANALYZED,
    Outcome.SHADOW: TicketStatus.ANALYZED,
    Outcome.AWAITING_APPROVAL: TicketStatus.AWAITING_APPROVAL,
    Outcome.AUTO_APPROVED: TicketStatus.REMEDIATING,
    Outcome.REJECTED: TicketStatus.MANUAL_REVIEW,
}

# The analysis task may store its results (status analyzed) before deciding, in the same
# transaction; a ticket anywhere else has been decided already.
DECIDABLE = (TicketStatus.PROCESSING, TicketStatus.ANALYZED)


def safety_facts_gather(
    ticket: Ticket, suggested_actions: list | None = None
) -> SafetyFacts | None:
    """Gather the safety facts for deciding on ``ticket``: call OUTSIDE any transaction.

    Connectors may be remote MCP servers (each question bounded by its timeout); asking them
    while the analysis transaction holds the ticket's row lock would hold that lock for
    seconds. None when the answers cannot matter (switched off, not opted in, no action).
    The execution service re-checks everything when it claims the execution.
    """
    settings = global_settings()
    raw = ticket.suggested_actions if suggested_actions is None else suggested_actions
    actions, _ = validate_suggestions(raw or [])
    if not (settings.enabled and ticket.auto_remediation_enabled and actions):
        return None
    if pause_in_force(ticket.category) is not None:
        return None  # paused: nothing to check, and no platform is asked during a freeze
    return safety.gather(
        actions=actions,
        policy=policy_for_category(ticket.category),
        settings=settings,
        now=timezone.now(),
    )


def ticket_decide(ticket: Ticket, *, facts: SafetyFacts | None) -> Decision:
    """Decide on ``ticket``, store the decision, move the ticket on, and audit both.

    Preconditions: called inside the analysis transaction with the ticket row locked
    (``select_for_update``), after the resolution, suggested actions, confidence, pattern
    and reliability score are stored; ticket status ``processing`` or ``analyzed``.
    ``facts`` come from ``safety_facts_gather``, gathered before that transaction: no connector
    is asked anything here. Missing facts fail the safety step closed.

    When the decision auto-approves, the execution is requested here (status
    ``remediating``, the execution task queued in this transaction).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ticket_decide must run inside the transaction that locked the ticket")
    if ticket.status not in DECIDABLE:
        raise Conflict(f"Ticket {ticket.ticket_id} is {ticket.status}; it was decided already")

    now = timezone.now()
    settings = global_settings()
    policy = policy_for_category(ticket.category)
    actions, dropped = validate_suggestions(ticket.suggested_actions or [])
    earlier_dropped = [str(d) for d in (ticket.dropped_actions or [])]

    pattern = ticket.pattern
    refused = rejected_operations_for_pattern(pattern)
    held = tuple(
        dict.fromkeys(
            refused[a.operation].reason
            for a in actions
            if a.operation in refused and not refused[a.operation].withdrawn
        )
    )
    # The calibrated probability beside the score: read from the stored fit (one indexed
    # row, cached per version), never fitted here.
    calibrated = ticket_probability(ticket, ticket.reliability_score)
    inp = DecisionInput(
        ticket_id=ticket.ticket_id,
        category=ticket.category,
        auto_remediation_enabled=ticket.auto_remediation_enabled,
        actions=tuple(actions),
        now=now,
        settings=settings,
        policy=policy.rules() if policy is not None else None,
        dropped=(*earlier_dropped, *dropped),
        resolution=ticket.resolution,
        confidence=ticket.confidence_score,
        reliability=ticket.reliability_score,
        probability=calibrated.probability if calibrated is not None else None,
        probability_basis=calibrated.explanation if calibrated is not None else "",
        pattern=PatternFacts(
            hash=pattern.hash,
            eligible=pattern.eligible_for_auto_remediation and pattern.enabled,
            similar_resolved=pattern.success_count,
            positive_outcome_rate=pattern.positive_outcome_rate,
        )
        if pattern is not None
        else None,
        safety=facts,
        observed=observed_basis(ticket.diagnosis),
        held=held,
        paused=pause_sentence(pause) if (pause := pause_in_force(ticket.category)) else "",
    )
    decision = decide(inp)
    # The inputs as they stood, so a policy what-if can replay this decision later.
    rules = policy.rules() if policy is not None else None
    backup_asked = facts is not None and any(backup_needed(a, rules) for a in actions)
    ticket.decision_facts = record_facts(inp, decision.outcome, backup_asked=backup_asked)
    _store(ticket, decision)
    return decision


def _status_reason(decision: Decision) -> str:
    if decision.outcome is Outcome.REJECTED:
        return decision.rejection or decision.reasoning[-1]
    return decision.reasoning[-1]


def _store(ticket: Ticket, decision: Decision) -> None:
    auto = decision.outcome is Outcome.AUTO_APPROVED
    ticket.remediation_decision = decision.to_dict()
    ticket.decision_mode = decision.mode
    ticket.decision_policy = decision.policy or ""
    ticket.decided_reliability_score = ticket.reliability_score
    ticket.decided_probability = decision.reliability.get("calibrated_probability")
    ticket.decided_gate_reliability = decision.gate_reliability
    fields = [
        "remediation_decision",
        "decision_facts",
        "decision_mode",
        "decision_policy",
        "decided_reliability_score",
        "decided_probability",
        "decided_gate_reliability",
    ]
    reason = _status_reason(decision)
    # The decision is audited first, then the status change it causes.
    audit(
        AuditAction.DECISION_MADE,
        f"Decision ({decision.mode}): {decision.outcome.value}; {reason}",
        ticket=ticket,
        details={
            "decision": ticket.remediation_decision,
            "mode": decision.mode,
            "outcome": decision.outcome.value,
        },
    )
    if auto:
        # The decision is stored first; execution_request then moves the ticket to
        # remediating (through the state machine) and queues the one choke point.
        ticket.save(update_fields=[*fields, "updated_at"])
        execution_request(ticket, acting_user=None, via=ExecutionVia.AUTO)
        return
    new_status = NEXT_STATUS[decision.outcome]
    ticket_transition(ticket, new_status, reason=reason, extra_fields=fields)
    if new_status == TicketStatus.AWAITING_APPROVAL:
        approval_request_open(ticket)


def decided_while_paused() -> QuerySet[Ticket]:
    """Tickets the decision left ``analyzed`` because remediation was paused (their stored
    facts name the pause): decided again when it is lifted (``tickets_redecide_after_resume``),
    and listed in the inbox meanwhile."""
    return Ticket.objects.filter(
        status=TicketStatus.ANALYZED,
        outcome=TicketOutcome.UNKNOWN,
        decision_facts__outcome=Outcome.NOT_ENABLED.value,
        decision_facts__paused__startswith=PAUSED_PREFIX,
    )


def tickets_redecide_after_resume(*, category: str) -> int:
    """Decide again each ticket decided while ``category`` ("" every category) was paused,
    now that the pause is lifted; returns how many were decided. The safety facts are
    gathered outside any transaction (as the analysis does), then each ticket is re-read
    under its lock: one decided since, closed by a person, or still held by another pause is
    left alone. Safe to run twice."""
    tickets = decided_while_paused().exclude(review__closed_at__isnull=False)
    if category:
        tickets = tickets.filter(category=category)
    decided = 0
    for ticket in list(tickets.order_by("created_at", "id")[:2000]):
        if pause_in_force(ticket.category) is not None:
            continue
        facts = safety_facts_gather(ticket)
        with transaction.atomic():
            locked = decided_while_paused().select_for_update().filter(pk=ticket.pk).first()
            if locked is None or pause_in_force(locked.category) is not None:
                continue
            ticket_decide(locked, facts=facts)
            decided += 1
    return decided
