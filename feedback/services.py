"""Feedback and its effects, and the rebuild of every pattern statistic.

A feedback changes, in the same transaction as its own row: the ticket's outcome, the
category's daily rollups, the pattern's statistics (and so possibly its eligibility), the
ticket's reliability score, the audit trail and, when the person says what actually
worked, a runbook learned from it that the local analyzer prefers for similar tickets.

Outcome rule (``outcome_from_feedback``), in order:

1. ``negative``, or ``actions_worked`` is false  -> failure
2. ``positive`` and (``resolution_accurate`` or ``actions_worked`` is true) -> success
3. anything else (neutral; positive without saying what worked) -> outcome unchanged

The latest feedback that decides wins: a success confirmed by one person and refuted by a
later one becomes a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Round
from django.utils import timezone

from config.errors import Conflict
from feedback.models import Feedback, FeedbackType
from patterns import services as pattern_services
from patterns.models import Pattern
from patterns.services import SUM_DECIMALS, EligibilityChange, PatternTotals
from patterns.signature import signature_for
from remediation import rollups
from remediation.audit import audit
from remediation.catalogue import get_operation, validate_suggestions
from remediation.models import AuditAction, Runbook, RunbookSource, Ticket, TicketOutcome
from remediation.outcomes import (
    audit_eligibility_change,
    ticket_confirm_resolved,
    ticket_set_outcome,
)
from remediation.scoring import score_ticket


@dataclass(frozen=True)
class FeedbackInput:
    feedback_type: str
    rating: int
    was_helpful: bool | None = None
    resolution_accurate: bool | None = None
    actions_worked: bool | None = None
    comment: str = ""
    what_worked: str = ""
    what_didnt_work: str = ""
    suggestions: str = ""
    actual_resolution: str = ""
    # Each item: a plain sentence, or {"operation", "system", "params", "action"}.
    actual_actions_taken: Sequence[str | Mapping[str, Any]] = field(default_factory=list)
    time_to_resolve: float | None = None


def outcome_from_feedback(
    feedback_type: str, *, resolution_accurate: bool | None, actions_worked: bool | None
) -> TicketOutcome | None:
    """The outcome a feedback establishes, or None when it leaves the outcome alone."""
    if feedback_type == FeedbackType.NEGATIVE or actions_worked is False:
        return TicketOutcome.FAILURE
    if feedback_type == FeedbackType.POSITIVE and (
        resolution_accurate is True or actions_worked is True
    ):
        return TicketOutcome.SUCCESS
    return None


def feedback_submit(*, ticket: Ticket, user: User, data: FeedbackInput) -> Feedback:
    """Store ``user``'s feedback on ``ticket`` and apply all its effects, atomically.

    Preconditions: ``user`` may see ``ticket`` (``feedback.access.ticket_for_feedback``) and
    ``data`` is validated. Raises ``Conflict`` when this user already gave feedback on this
    ticket, also when two submissions race (the unique constraint decides).
    """
    with transaction.atomic():
        # The ticket row is locked for the whole chain: outcome, scoring and the pattern
        # statistics of one ticket change one feedback at a time.
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        try:
            with transaction.atomic():
                feedback = Feedback.objects.create(
                    ticket=ticket,
                    user=user,
                    feedback_type=data.feedback_type,
                    rating=data.rating,
                    was_helpful=data.was_helpful,
                    resolution_accurate=data.resolution_accurate,
                    actions_worked=data.actions_worked,
                    comment=data.comment,
                    what_worked=data.what_worked,
                    what_didnt_work=data.what_didnt_work,
                    suggestions=data.suggestions,
                    actual_resolution=data.actual_resolution,
                    actual_actions_taken=[
                        dict(item) if isinstance(item, Mapping) else item
                        for item in data.actual_actions_taken
                    ],
                    time_to_resolve=data.time_to_resolve,
                )
        except IntegrityError:
            raise Conflict(
                f"You already gave feedback on ticket {ticket.ticket_id}.",
                code="duplicate_feedback",
                fields={"ticket_id": ["Feedback on this ticket was already given by you."]},
            ) from None

        audit(
            AuditAction.FEEDBACK_SUBMITTED,
            f"{data.feedback_type.capitalize()} feedback ({data.rating}/5) "
            f"by {user.get_username()}",
            ticket=ticket,
            acting_user=user,
            details={
                "feedback_id": feedback.pk,
                "feedback_type": data.feedback_type,
                "rating": data.rating,
                "was_helpful": data.was_helpful,
                "resolution_accurate": data.resolution_accurate,
                "actions_worked": data.actions_worked,
            },
        )
        rollups.record_feedback(
            category=ticket.category,
            day=timezone.localdate(feedback.created_at),
            feedback_type=data.feedback_type,
            rating=data.rating,
        )
        if ticket.pattern is not None:
            change = pattern_services.pattern_record_feedback(
                ticket.pattern, feedback_type=data.feedback_type
            )
            audit_eligibility_change(change, ticket=ticket, acting_user=user)

        outcome = outcome_from_feedback(
            data.feedback_type,
            resolution_accurate=data.resolution_accurate,
            actions_worked=data.actions_worked,
        )
        if outcome is not None:
            reason = f"{data.feedback_type} feedback by {user.get_username()}"
            ticket_set_outcome(ticket, outcome, acting_user=user, reason=reason)
            if outcome == TicketOutcome.SUCCESS:
                ticket_confirm_resolved(
                    ticket, acting_user=user, reason=f"Fix confirmed by {reason}"
                )
        # After the rollups and the outcome moved: the new score includes this feedback.
        score_ticket(ticket)
        runbook_learn_from_feedback(feedback, ticket=ticket, acting_user=user)
    return feedback


def _learned_operation(
    feedback: Feedback, ticket: Ticket
) -> tuple[str, dict[str, Any], str] | None:
    """(operation, default params, where it came from) for a runbook learned from feedback.

    The first catalogue-valid action the person says they took; else the first valid one
    the ticket suggested (the resolution text is then what differs). Params keep everything
    but the target, which the analyzer takes from each new ticket.
    """
    taken = [item for item in feedback.actual_actions_taken if isinstance(item, Mapping)]
    for source, candidates in (
        ("actual_actions_taken", taken),
        ("suggested_actions", ticket.suggested_actions or []),
    ):
        actions, _dropped = validate_suggestions(candidates)
        if actions:
            action = actions[0]
            operation = get_operation(action.operation)
            target = operation.target_param if operation is not None else ""
            params = {k: v for k, v in action.params.items() if k != target}
            return action.operation, params, source
    return None


def runbook_learn_from_feedback(
    feedback: Feedback, *, ticket: Ticket, acting_user: User
) -> Runbook | None:
    """Turn "what actually worked" into a runbook for the next similar ticket.

    Only when the feedback gives ``actual_resolution`` or ``actual_actions_taken`` and a
    catalogue operation can be named (see ``_learned_operation``); otherwise nothing is
    learned and the audit trail says why. Symptoms are the ticket's key terms, one per
    line, which is what makes a new ticket of the same pattern match it.
    """
    if not feedback.actual_resolution and not feedback.actual_actions_taken:
        return None
    chosen = _learned_operation(feedback, ticket)
    if chosen is None:
        audit(
            AuditAction.RUNBOOK_LEARNED,
            "Nothing learned: no catalogue operation among the actions taken or suggested.",
            ticket=ticket,
            acting_user=acting_user,
            details={"feedback_id": feedback.pk, "learned": False},
        )
        return None
    operation, params, source = chosen
    terms = signature_for(ticket.category, ticket.title, ticket.description).key_terms
    symptoms = "\n".join(terms) if terms else ticket.title
    resolution = feedback.actual_resolution or "What worked: " + "; ".join(
        item if isinstance(item, str) else str(item.get("action") or item.get("operation"))
        for item in feedback.actual_actions_taken
    )
    runbook = Runbook.objects.create(
        name=f"Learned from {ticket.ticket_id} (feedback {feedback.pk})",
        operation=operation,
        category=ticket.category,
        symptoms=symptoms,
        resolution=resolution,
        params=params,
        source=RunbookSource.FEEDBACK,
        learned_from=ticket,
    )
    audit(
        AuditAction.RUNBOOK_LEARNED,
        f"Runbook {runbook.name!r} learned: {operation} for {', '.join(terms) or ticket.title}",
        ticket=ticket,
        acting_user=acting_user,
        details={
            "feedback_id": feedback.pk,
            "learned": True,
            "runbook": runbook.name,
            "operation": operation,
            "params": params,
            "operation_from": source,
            "symptoms": list(terms),
        },
    )
    return runbook


@dataclass(frozen=True)
class RecomputeSummary:
    patterns: int
    eligible: int
    changes: list[EligibilityChange]


def pattern_totals() -> dict[int, PatternTotals]:
    """Every pattern's raw totals, counted from tickets and feedback in two grouped queries."""
    concluded = [TicketOutcome.SUCCESS, TicketOutcome.FAILURE]
    ticket_rows = (
        Ticket.objects.filter(pattern__isnull=False)
        .order_by()
        .values("pattern_id")
        .annotate(
            occurrences=Count("id"),
            confidence=Sum(Round("confidence_score", SUM_DECIMALS)),
            successes=Count("id", filter=Q(outcome=TicketOutcome.SUCCESS)),
            failures=Count("id", filter=Q(outcome=TicketOutcome.FAILURE)),
            reliability=Sum(Round("reliability_score", SUM_DECIMALS)),
            scored=Count("reliability_score"),
            attempts=Count("id", filter=Q(auto_remediation_executed=True, outcome__in=concluded)),
            remediated_ok=Count(
                "id", filter=Q(auto_remediation_executed=True, outcome=TicketOutcome.SUCCESS)
            ),
        )
    )
    feedback_rows = (
        Feedback.objects.filter(ticket__pattern__isnull=False)
        .order_by()
        .values("ticket__pattern_id")
        .annotate(
            positive=Count("id", filter=Q(feedback_type=FeedbackType.POSITIVE)),
            negative=Count("id", filter=Q(feedback_type=FeedbackType.NEGATIVE)),
            neutral=Count("id", filter=Q(feedback_type=FeedbackType.NEUTRAL)),
        )
    )
    feedback_by_pattern: dict[int, dict[str, int]] = {
        row["ticket__pattern_id"]: {k: row[k] for k in ("positive", "negative", "neutral")}
        for row in feedback_rows
    }
    totals: dict[int, PatternTotals] = {}
    for row in ticket_rows:  # one row per pattern, not per ticket
        fb: dict[str, int] = feedback_by_pattern.get(row["pattern_id"], {})
        totals[row["pattern_id"]] = PatternTotals(
            occurrence_count=row["occurrences"],
            confidence_sum=float(row["confidence"] or 0.0),
            success_count=row["successes"],
            failure_count=row["failures"],
            positive_feedback_count=fb.get("positive", 0),
            negative_feedback_count=fb.get("negative", 0),
            neutral_feedback_count=fb.get("neutral", 0),
            reliability_sum=float(row["reliability"] or 0.0),
            reliability_count=row["scored"],
            auto_remediation_attempts=row["attempts"],
            auto_remediation_successes=row["remediated_ok"],
        )
    return totals


def patterns_recompute(*, progress: Callable[[int, int], None] | None = None) -> RecomputeSummary:
    """Rebuild every pattern statistic from tickets and feedback, then settle eligibility.

    Gives the same numbers as the incremental updates: one occurrence and its confidence
    per ticket linked to the pattern, outcomes and reliability as stored on the tickets,
    feedback by type, and a remediation attempt per concluded ticket whose actions ran.
    First/last seen are observation times, not derived from tickets, and are kept.
    Pattern rows are locked before counting, so an update racing the rebuild waits for it
    and then applies on top of the rebuilt numbers.
    """
    with transaction.atomic():
        pattern_services.lock_all_patterns()
        changes = pattern_services.pattern_rebuild(pattern_totals(), progress=progress)
        for change in changes:
            audit_eligibility_change(change)
        eligible = Pattern.objects.filter(eligible_for_auto_remediation=True).count()
        total = Pattern.objects.count()
    return RecomputeSummary(patterns=total, eligible=eligible, changes=changes)
