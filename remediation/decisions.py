"""Deciding what happens to an analyzed ticket: gather the facts, run the engine, store it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from config.errors import Conflict
from policies.selectors import global_settings, policy_for_category
from remediation import safety
from remediation.audit import audit
from remediation.catalogue import validate_suggestions
from remediation.decision import Decision, DecisionInput, Outcome, PatternFacts, decide
from remediation.models import AuditAction, Ticket, TicketStatus
from remediation.whatif_engine import record_facts

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


def ticket_decide(ticket: Ticket) -> Decision:
    """Decide on ``ticket``, store the decision, move the ticket on, and audit both.

    Preconditions: called inside the analysis transaction with the ticket row locked
    (``select_for_update``), after the resolution, suggested actions, confidence, pattern
    and reliability score are stored; ticket status ``processing`` or ``analyzed``.
    Connectors are asked about health and backups here, inside that transaction.

    Returns the Decision; ``decision.outcome`` is AUTO_APPROVED when the caller should
    start execution (status ``remediating``, ``remediation_started_at`` set).
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

    facts = None
    # Health and backup questions go out only when the answer can matter.
    if settings.enabled and ticket.auto_remediation_enabled and actions:
        facts = safety.gather(
            actions=actions, policy=policy, settings=settings, now=now, exclude_pk=ticket.pk
        )

    pattern = ticket.pattern
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
        pattern=PatternFacts(
            hash=pattern.hash,
            eligible=pattern.eligible_for_auto_remediation and pattern.enabled,
            similar_resolved=pattern.success_count,
            positive_feedback_rate=pattern.positive_feedback_rate,
        )
        if pattern is not None
        else None,
        safety=facts,
    )
    decision = decide(inp)
    # The inputs as they stood, so a policy what-if can replay this decision later.
    backup_asked = facts is not None and any(safety.backup_needed(a, policy) for a in actions)
    ticket.decision_facts = record_facts(inp, decision.outcome, backup_asked=backup_asked)
    _store(ticket, decision)
    return decision


def _status_reason(decision: Decision) -> str:
    if decision.outcome is Outcome.REJECTED:
        return decision.rejection or decision.reasoning[-1]
    return decision.reasoning[-1]


def _store(ticket: Ticket, decision: Decision) -> None:
    old_status = ticket.status
    new_status = NEXT_STATUS[decision.outcome]
    ticket.remediation_decision = decision.to_dict()
    ticket.decision_mode = decision.mode
    ticket.decision_policy = decision.policy or ""
    ticket.status = new_status
    ticket.status_reason = _status_reason(decision)
    fields = [
        "remediation_decision",
        "decision_facts",
        "decision_mode",
        "decision_policy",
        "status",
        "status_reason",
        "updated_at",
    ]
    if decision.outcome is Outcome.AUTO_APPROVED:
        # Counted by the rate limits from now on.
        ticket.remediation_started_at = decision.decided_at
        fields.append("remediation_started_at")
    ticket.save(update_fields=fields)

    audit(
        AuditAction.DECISION_MADE,
        f"Decision ({decision.mode}): {decision.outcome.value}; {ticket.status_reason}",
        ticket=ticket,
        details={
            "decision": ticket.remediation_decision,
            "mode": decision.mode,
            "outcome": decision.outcome.value,
        },
    )
    if new_status != old_status:
        audit(
            AuditAction.STATUS_CHANGED,
            f"Status {old_status} -> {new_status}: {ticket.status_reason}",
            ticket=ticket,
            details={"from": old_status, "to": new_status, "reason": ticket.status_reason},
        )
