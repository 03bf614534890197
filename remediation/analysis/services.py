"""The analysis step: a ticket still ``processing`` is analyzed, its result stored, scored and
decided, in a django-q2 worker; safe to run twice (the ORM broker delivers at least once).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from patterns import services as pattern_services
from remediation.analysis.analyzers import get_analyzer
from remediation.analysis.base import AnalysisError, AnalysisResult, TicketText
from remediation.analysis.rules import evidence
from remediation.analysis.rules.category import diagnosed_category
from remediation.analysis.rules.diagnosis import Diagnosis
from remediation.analysis.rules.pattern_key import pattern_key
from remediation.approvals.selectors import rejected_operations_for_pattern
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.decisions import services as decision_service
from remediation.investigation import services as investigation_services
from remediation.scoring import services as scoring
from remediation.tickets import rollups
from remediation.tickets.models import CategorySource, Ticket, TicketStatus
from remediation.tickets.transitions import ticket_transition

logger = logging.getLogger(__name__)


def analysis_may_start(ticket_pk: int) -> bool:
    """Whether this ticket's analysis takes its turn now, or gives it to another submitter.

    The worker takes tasks in the order they were queued, so one token's burst (60 tickets
    in a second) would otherwise delay everyone else's next ticket by all of its analyses.
    A submitter that had ``ANALYSIS_FAIR_SHARE`` tickets analyzed within the last
    ``ANALYSIS_FAIR_WINDOW_SECONDS`` yields while a ticket waits from another submitter that
    had fewer analyzed in that window: its task goes to the back of the queue (the caller
    re-queues it, a bounded number of times). Only to one with fewer: when several senders
    storm at once, each past its share, yielding to any other would have them all give way
    to each other until their yields ran out, every task queued again and again for nothing
    (a bench of three storming senders counted eleven yields per ticket).
    """
    ticket = Ticket.objects.filter(pk=ticket_pk).only("submitted_by_id", "status").first()
    if ticket is None or ticket.status != TicketStatus.PROCESSING:
        return True  # nothing to analyze: let the task say so
    since = timezone.now() - timedelta(seconds=int(settings.ANALYSIS_FAIR_WINDOW_SECONDS))
    recent = Ticket.objects.filter(
        submitted_by_id=ticket.submitted_by_id, analyzed_at__gte=since
    ).count()
    if recent < int(settings.ANALYSIS_FAIR_SHARE):
        return True
    waiting = set(
        Ticket.objects.filter(status=TicketStatus.PROCESSING, analyzed_at__isnull=True)
        .exclude(submitted_by_id=ticket.submitted_by_id)
        .order_by()
        .values_list("submitted_by_id", flat=True)
        .distinct()
    )
    if not waiting:
        return True
    served = dict(
        Ticket.objects.filter(submitted_by_id__in=waiting, analyzed_at__gte=since)
        .order_by()
        .values_list("submitted_by_id")
        .annotate(n=Count("id"))
        .values_list("submitted_by_id", "n")
    )
    # Go ahead unless a waiting submitter has had fewer turns than this one.
    return all(served.get(other, 0) >= recent for other in waiting)


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

    # Look before deciding: read-only tools, bounded, no transaction held (network calls).
    try:
        investigation = investigation_services.ticket_investigate(ticket)
    except Exception as exc:  # a bug here must not strand the ticket either: nothing seen
        logger.exception("investigation crashed on ticket %s", ticket.ticket_id)
        investigation = investigation_services.investigation_failed(
            f"investigation error ({exc.__class__.__name__})"
        )
    result: AnalysisResult | None = None
    error = ""
    try:
        result = get_analyzer().analyze(TicketText.from_ticket(ticket, investigation))
        result = _ground(result, investigation, affected_system=ticket.affected_system)
    except AnalysisError as exc:
        error = str(exc)
    except Exception as exc:  # an analyzer bug must not strand the ticket in processing
        logger.exception("analyzer crashed on ticket %s", ticket.ticket_id)
        error = f"analyzer error ({exc.__class__.__name__})"

    # The category the ticket will be filed under (an alert's default one may give way to
    # the diagnosed platform's): the safety facts below read that category's policy.
    diagnosed = _diagnosed_category(ticket, result)
    if diagnosed is not None:
        ticket.category = diagnosed
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
        if diagnosed is not None and result is not None:
            _category_from_diagnosis(ticket, diagnosed, result)
        _store_investigation(ticket, investigation)
        rollups.record_investigation(ticket, investigation)
        if result is None:
            _fail_analysis(ticket, error)
            return "manual_review"
        _store_analysis(ticket, result)
        decision_service.ticket_decide(ticket, facts=facts)
        return str(ticket.status)


def _ground(
    result: AnalysisResult, investigation: dict[str, Any], *, affected_system: str = ""
) -> AnalysisResult:
    """Whatever the analyzer says, its actions rest on observations only when the
    observations show them right (``evidence.grounding``); otherwise the confidence is capped
    and the diagnosis says the words alone support it, so no policy runs it unattended.

    First, an action no analyzer may propose is dropped (``evidence.action_refusal``): a
    target outside the affected system as the platform describes it, or a capacity
    operation that would not add capacity over what was observed.

    A grounded result's diagnosis names the observed cause and object, whichever analyzer
    wrote it: the choke point looks at that object again just before the write."""
    if not result.actions:
        return result
    kept, dropped = [], list(result.dropped)
    for action in result.actions:
        refusal = evidence.action_refusal(
            action.to_dict(), affected_system=affected_system, investigation=investigation
        )
        if refusal:
            dropped.append(f"{action.operation} on {action.system!r} not proposed: {refusal}")
        else:
            kept.append(action)
    if len(kept) != len(result.actions):
        reason = dropped[-1].split(": ", 1)[-1]
        base = result.diagnosis
        result = replace(
            result,
            resolution=f"{result.resolution}\n\nWithdrawn: {reason}.",
            actions=kept,
            dropped=dropped,
            confidence=result.confidence if kept else 0.0,
            diagnosis=base.with_human(base.needs_human_reason or reason)
            if base is not None
            else None,
        )
        if not kept:
            return result
    why, finding = evidence.grounding(result.suggested_actions, investigation)
    diagnosis = result.diagnosis or Diagnosis(
        cause="unknown",
        cause_label="stated by the analyzer",
        established=True,
        confidence=result.confidence,
        platform=None,
    )
    if finding is not None:
        extra = {
            **diagnosis.extra,
            "basis": evidence.OBSERVED,
            "observed_target": {"kind": finding.kind, "name": finding.name},
        }
        if diagnosis.cause != finding.cause:
            extra["analyzer_cause"] = diagnosis.cause
        return replace(
            result,
            diagnosis=replace(
                diagnosis,
                cause=finding.cause,
                cause_label=evidence.cause_label(finding.cause),
                extra=extra,
            ),
        )
    capped = min(result.confidence, evidence.WORDS_ONLY_MAX)
    reason = f"not confirmed by what was observed: {why}"
    return replace(
        result,
        confidence=round(capped, 3),
        diagnosis=replace(
            diagnosis,
            confidence=min(diagnosis.confidence, evidence.WORDS_ONLY_MAX),
            needs_human=True,
            needs_human_reason=diagnosis.needs_human_reason or reason,
            extra={**diagnosis.extra, "basis": evidence.WORDS, "not_grounded": why},
        ),
    )


def _store_investigation(ticket: Ticket, investigation: dict[str, Any]) -> None:
    ticket.investigation = investigation
    ticket.save(update_fields=["investigation", "updated_at"])
    calls = investigation.get("calls") or []
    failed = sum(1 for c in calls if not c.get("ok"))
    audit(
        AuditAction.INVESTIGATED,
        f"Investigated: {investigation.get('status')}, {len(calls)} read-only call(s)"
        + (f", {failed} failed" if failed else "")
        + (f" ({investigation.get('reason')})" if investigation.get("reason") else ""),
        ticket=ticket,
        details={
            "status": investigation.get("status"),
            "reason": investigation.get("reason"),
            "duration_ms": investigation.get("duration_ms"),
            "calls": [
                {
                    k: c.get(k)
                    for k in ("n", "connector", "tool", "arguments", "at", "ms", "ok", "error")
                    if k in c
                }
                for c in calls
            ],
        },
    )


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
    again until later successes outweigh the refusals (``rejected_operations_for_pattern``),
    unless fixes measured to hold outweigh them (then it stays, and a person decides). A
    withdrawn one moves to ``dropped_actions`` with the reason, where the decision names it."""
    refused = rejected_operations_for_pattern(ticket.pattern)
    if not refused:
        return
    kept = []
    for action in ticket.suggested_actions:
        refusal = refused.get(str(action.get("operation")))
        if refusal is None or not refusal.withdrawn:
            kept.append(action)
        else:
            ticket.dropped_actions.append(refusal.reason)
    ticket.suggested_actions = kept


def _diagnosed_category(ticket: Ticket, result: AnalysisResult | None) -> str | None:
    """The category an alert ticket whose category is its mapping's default (the alert
    named none) is filed under instead: that of the platform the diagnosis observed the
    cause on. None when it keeps its own: a category a submitter (or an alert's label) gave
    is never changed."""
    if result is None or ticket.category_source != CategorySource.ALERT_DEFAULT:
        return None
    category = diagnosed_category(result.diagnosis_dict)
    return category if category is not None and category != ticket.category else None


def _category_from_diagnosis(ticket: Ticket, category: str, result: AnalysisResult) -> None:
    """File the (locked) ticket under ``category`` before anything counts it (rollups,
    pattern, score, the policy); audited, once."""
    before = ticket.category
    calibration_before = rollups.calibration_key(ticket)
    platform = (result.diagnosis_dict or {}).get("platform")
    ticket.category = category
    ticket.category_source = CategorySource.DIAGNOSIS
    ticket.save(update_fields=["category", "category_source", "updated_at"])
    rollups.record_calibration_change(calibration_before, rollups.calibration_key(ticket))
    audit(
        AuditAction.CATEGORY_DIAGNOSED,
        f"Category {before} -> {category}: the alert named no category, and the cause was "
        f"observed on {platform}",
        ticket=ticket,
        details={"from": before, "to": category, "platform": platform},
    )


def _store_analysis(ticket: Ticket, result: AnalysisResult) -> None:
    # A concluded ticket counts in the calibration rollup by its analyzer and confidence.
    calibration_before = rollups.calibration_key(ticket)
    ticket.analyzer = result.analyzer
    ticket.resolution = result.resolution
    ticket.suggested_actions = [a.to_dict() for a in result.actions]
    ticket.dropped_actions = list(result.dropped)
    ticket.confidence_score = result.confidence
    ticket.diagnosis = result.diagnosis_dict
    ticket.analyzed_at = timezone.now()
    key = pattern_key(ticket.diagnosis)
    pattern = pattern_services.pattern_observe(
        category=ticket.category,
        title=ticket.title,
        description=ticket.description,
        confidence=ticket.confidence_score,
        at=ticket.analyzed_at,
        ticket=ticket,
        cause=(key.cause, key.kind, key.operation) if key is not None else None,
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
    rollups.record_calibration_change(calibration_before, rollups.calibration_key(ticket))
    scoring.score_ticket(ticket)
