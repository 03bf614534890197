"""Writes to tickets: intake and analysis.

``ticket_create`` runs in the request; ``ticket_analyze`` runs in a django-q2 worker and is
safe to run twice (the ORM broker delivers at least once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from config.errors import Conflict
from patterns import services as pattern_services
from remediation import decision_service, rollups, scoring
from remediation.alerts import storm
from remediation.analysis import AnalysisError, AnalysisResult, TicketText, get_analyzer
from remediation.approvals.selectors import rejected_operations_for_pattern
from remediation.audit import audit
from remediation.models import AuditAction, Severity, Ticket, TicketStatus
from remediation.transitions import ticket_transition

logger = logging.getLogger(__name__)

ANALYZE_TASK = "remediation.tasks.analyze_ticket"


@dataclass(frozen=True)
class TicketInput:
    ticket_id: str
    title: str
    description: str
    category: str
    enable_auto_remediation: bool = False
    affected_system: str = ""
    severity: str = Severity.MEDIUM
    source: str = "api"


def ticket_create(data: TicketInput, *, acting_user: User) -> Ticket:
    """Insert a ticket, its audit event and its analysis task in one transaction.

    The task goes through the ORM broker, so it commits or rolls back with the ticket: a
    ticket is never left without its analysis, and a refused ticket never queues one.
    Raises ``Conflict`` when ``ticket_id`` exists (also when two requests race: the unique
    constraint decides, and the loser's transaction changes nothing).

    Storm control: when an open ticket has the same pattern and target, nothing is created
    and that ticket is returned, its repeat counted (``ticket.ticket_id`` then differs from
    ``data.ticket_id``; see ``remediation.alerts.storm``).
    """
    try:
        with transaction.atomic():
            claim = storm.storm_claim(
                ticket_id=data.ticket_id,
                category=data.category,
                title=data.title,
                description=data.description,
                affected_system=data.affected_system,
                source=data.source,
                acting_user=acting_user,
            )
            if claim.joined is not None:
                return claim.joined
            ticket = Ticket.objects.create(
                ticket_id=data.ticket_id,
                title=data.title,
                description=data.description,
                category=data.category,
                affected_system=data.affected_system,
                severity=data.severity,
                source=data.source,
                auto_remediation_enabled=data.enable_auto_remediation,
                submitted_by=acting_user,
            )
            audit(
                AuditAction.TICKET_CREATED,
                f"Ticket {ticket.ticket_id} submitted by {acting_user.get_username()}",
                ticket=ticket,
                acting_user=acting_user,
                details={
                    "category": ticket.category,
                    "severity": ticket.severity,
                    "source": ticket.source,
                    "auto_remediation_enabled": ticket.auto_remediation_enabled,
                },
                new_stream=True,
            )
            async_task(ANALYZE_TASK, ticket.pk, task_name=f"analyze {ticket.ticket_id}"[:100])
            storm.storm_register(claim, ticket)
    except IntegrityError:
        if Ticket.objects.filter(ticket_id=data.ticket_id).exists():
            raise Conflict(
                f"A ticket with ticket_id {data.ticket_id!r} already exists.",
                code="duplicate_ticket",
                fields={"ticket_id": ["A ticket with this ticket_id already exists."]},
            ) from None
        raise
    return ticket


def ticket_analyze(ticket_pk: int) -> str:
    """Analyze a ticket that is still ``processing``; returns what happened, for the task log.

    The analyzer runs outside any transaction (it may call the Anthropic API for a minute).
    Its result is stored only if the ticket, re-read under a row lock, is still
    ``processing``: a second delivery of the task, or a copy running concurrently, finds it
    moved on and changes nothing. Any analyzer error sends the ticket to ``manual_review``
    with the reason; it is never left in ``processing``.
    """
    ticket = Ticket.objects.filter(pk=ticket_pk).first()
    if ticket is None:
        return "skipped: ticket does not exist"
    if ticket.status != TicketStatus.PROCESSING:
        return f"skipped: ticket is {ticket.status}"

    result: AnalysisResult | None = None
    error = ""
    try:
        result = get_analyzer().analyze(TicketText.from_ticket(ticket))
    except AnalysisError as exc:
        error = str(exc)
    except Exception as exc:  # an analyzer bug must not strand the ticket in processing
        logger.exception("analyzer crashed on ticket %s", ticket.ticket_id)
        error = f"analyzer error ({exc.__class__.__name__})"

    # The connectors' answers (health, backups) are gathered before the transaction: they
    # may come from a remote MCP server, and the row lock must not wait on the network.
    facts = (
        decision_service.safety_facts_gather(ticket, [a.to_dict() for a in result.actions])
        if result is not None
        else None
    )
    with transaction.atomic():
        # Re-read under a lock: the race is two deliveries of this task finishing together.
        ticket = Ticket.objects.select_for_update().get(pk=ticket_pk)
        if ticket.status != TicketStatus.PROCESSING:
            return f"skipped: ticket is {ticket.status}"
        if result is None:
            _fail_analysis(ticket, error)
            return "manual_review"
        _store_analysis(ticket, result)
        decision_service.ticket_decide(ticket, facts=facts)
        return str(ticket.status)


def _fail_analysis(ticket: Ticket, reason: str) -> None:
    ticket.analyzed_at = timezone.now()
    ticket_transition(
        ticket,
        TicketStatus.MANUAL_REVIEW,
        reason=f"Analysis failed: {reason}",
        extra_fields=["analyzed_at"],
    )
    audit(
        AuditAction.ANALYSIS_FAILED,
        ticket.status_reason,
        ticket=ticket,
        details={"reason": reason, "status": ticket.status},
    )


def _drop_rejected(ticket: Ticket) -> None:
    """Rejections teach: an operation approvers refused for this pattern is not proposed
    again until later successes outweigh the refusals (``rejected_operations_for_pattern``).
    It moves to ``dropped_actions`` with the reason, where the decision names it."""
    blocked = rejected_operations_for_pattern(ticket.pattern)
    if not blocked:
        return
    kept = []
    for action in ticket.suggested_actions:
        reason = blocked.get(str(action.get("operation")))
        if reason is None:
            kept.append(action)
        else:
            ticket.dropped_actions.append(reason)
    ticket.suggested_actions = kept


def _store_analysis(ticket: Ticket, result: AnalysisResult) -> None:
    ticket.analyzer = result.analyzer
    ticket.resolution = result.resolution
    ticket.suggested_actions = [a.to_dict() for a in result.actions]
    ticket.dropped_actions = list(result.dropped)
    ticket.confidence_score = result.confidence
    ticket.diagnosis = result.diagnosis_dict
    ticket.analyzed_at = timezone.now()
    pattern = pattern_services.pattern_observe(
        category=ticket.category,
        title=ticket.title,
        description=ticket.description,
        confidence=ticket.confidence_score,
        at=ticket.analyzed_at,
    )
    ticket.pattern = pattern
    _drop_rejected(ticket)
    ticket_transition(
        ticket,
        TicketStatus.ANALYZED,
        reason=f"Analyzed by {result.analyzer}",
        extra_fields=[
            "analyzer",
            "resolution",
            "suggested_actions",
            "dropped_actions",
            "confidence_score",
            "diagnosis",
            "analyzed_at",
            "pattern",
        ],
    )
    audit(
        AuditAction.ANALYSIS_COMPLETED,
        f"Analyzed by {result.analyzer}: {len(ticket.suggested_actions)} action(s), "
        f"confidence {result.confidence:.2f}"
        + (
            f"; {len(ticket.dropped_actions)} suggestion(s) dropped"
            if ticket.dropped_actions
            else ""
        ),
        ticket=ticket,
        details={
            "analyzer": result.analyzer,
            "confidence": result.confidence,
            "actions": ticket.suggested_actions,
            "dropped": ticket.dropped_actions,
            "diagnosis": ticket.diagnosis,
            "pattern": pattern.hash,
        },
    )
    rollups.record_ticket_analyzed(ticket)
    scoring.score_ticket(ticket)
