"""Scoring a ticket: gather the facts, call the pure score, store it, keep the sums in step.

The facts come from the category's daily rollups, its calibration rollup (the AI factor's
calibration, ``CalibrationDailyStats``) and the ticket's pattern, so scoring costs the same
queries, each over a bounded window of rows, with ten past tickets as with a million.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from patterns.models import Pattern
from patterns.rules.signature import keyed_on_cause, signature_for, similarity
from patterns.services import PatternChange, pattern_update, reliability_moved
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.scoring.rules import (
    CALIBRATION_WINDOW_DAYS,
    FEEDBACK_HORIZON_DAYS,
    SUCCESS_HISTORY_WINDOW_DAYS,
    ConfidenceHistory,
    FeedbackDay,
    PatternFacts,
    ReliabilityInputs,
    ReliabilityResult,
    SuccessFacts,
    bin_index,
    breakdown_dict,
    compute_reliability,
    weigh_feedback,
)
from remediation.tickets import rollups
from remediation.tickets.models import (
    CalibrationDailyStats,
    CategoryDailyStats,
    Ticket,
    TicketOutcome,
)
from remediation.tickets.selectors import pattern_ref


def _success_facts(category: str, since: date) -> SuccessFacts:
    totals = CategoryDailyStats.objects.filter(category=category, day__gte=since).aggregate(
        success=Sum("success_count"), failure=Sum("failure_count")
    )
    return SuccessFacts(success=totals["success"] or 0, failure=totals["failure"] or 0)


def concluded_analyzed() -> Q:
    """The tickets whose prediction can be checked: analyzed (an analyzer named) and
    concluded (success or failure)."""
    return Q(outcome__in=(TicketOutcome.SUCCESS, TicketOutcome.FAILURE)) & ~Q(analyzer="")


def _confidence_history(ticket: Ticket, since: date) -> ConfidenceHistory:
    """The category's concluded, analyzed tickets created since ``since`` (the ticket itself
    left out: its own outcome must not predict it), in all and in the bin of the ticket's
    confidence. One aggregate over the calibration rollup (at most one row per day and bin
    of the window), whatever the number of tickets."""
    index = bin_index(ticket.confidence_score)
    totals = CalibrationDailyStats.objects.filter(
        category=ticket.category, day__gte=since
    ).aggregate(
        all_outcomes=Sum("outcomes"),
        bin_outcomes=Sum("outcomes", filter=Q(bin=index)),
        bin_successes=Sum("successes", filter=Q(bin=index)),
    )
    outcomes = totals["all_outcomes"] or 0
    bin_outcomes = totals["bin_outcomes"] or 0
    bin_successes = totals["bin_successes"] or 0
    own = rollups.calibration_key(ticket)
    if own is not None and own[0] == ticket.category and own[1] >= since:
        outcomes -= 1
        if own[2] == index:
            bin_outcomes -= 1
            bin_successes -= int(own[3])
    return ConfidenceHistory(
        outcomes=outcomes,
        bin_outcomes=bin_outcomes,
        bin_successes=bin_successes,
        min_outcomes=settings.CALIBRATION_MIN_OUTCOMES,
    )


def _pattern_facts(ticket: Ticket, pattern: Pattern | None) -> PatternFacts | None:
    if pattern is None:
        return None
    # A pattern keyed on the cause is the ticket's own by its diagnosis: its terms are the
    # ticket's. A pattern keyed on words is compared with the ticket's words.
    terms = (
        tuple(pattern.key_terms)
        if keyed_on_cause(pattern.key_terms)
        else signature_for(ticket.category, ticket.title, ticket.description).key_terms
    )
    return PatternFacts(
        similarity=similarity(terms, pattern.key_terms),
        success_count=pattern.success_count,
        failure_count=pattern.failure_count,
        positive_feedback_count=pattern.positive_feedback_count,
        negative_feedback_count=pattern.negative_feedback_count,
        neutral_feedback_count=pattern.neutral_feedback_count,
    )


def reliability_inputs(ticket: Ticket, pattern: Pattern | None) -> ReliabilityInputs:
    """The facts the score of ``ticket`` depends on, as of now. Three queries."""
    today = timezone.localdate()
    success = _success_facts(
        ticket.category, today - timedelta(days=SUCCESS_HISTORY_WINDOW_DAYS - 1)
    )
    feedback_days = [
        FeedbackDay(day=day, count=count, positive=positive, rating_sum=rating_sum)
        for day, count, positive, rating_sum in CategoryDailyStats.objects.filter(
            category=ticket.category,
            day__gte=today - timedelta(days=FEEDBACK_HORIZON_DAYS),
            feedback_count__gt=0,
        ).values_list("day", "feedback_count", "positive_count", "rating_sum")
    ]
    return ReliabilityInputs(
        ai_confidence=ticket.confidence_score,
        feedback=weigh_feedback(feedback_days, today=today),
        success=success,
        pattern=_pattern_facts(ticket, pattern),
        confidence_history=_confidence_history(
            ticket, today - timedelta(days=CALIBRATION_WINDOW_DAYS - 1)
        ),
    )


def score_ticket(ticket: Ticket) -> ReliabilityResult:
    """Score ``ticket`` again from the current facts and store the result.

    Preconditions: runs inside the caller's transaction, with the ticket row locked
    (``select_for_update``) so that two scorings of one ticket cannot both replace the same
    old score in the sums. Stores ``reliability_score`` and ``reliability_breakdown``, moves
    the ticket's score in its category-day sums and its pattern's sums, and writes a SCORED
    audit event (plus a pattern eligibility event when the new score changes that).
    A fixed number of queries, whatever the history.
    """
    if ticket.pattern_id is None:
        return _score(ticket, None)[0]
    results: list[ReliabilityResult] = []
    pattern_update(pattern_ref(ticket), rescored(ticket, results), ticket=ticket)
    return results[0]


def rescored(ticket: Ticket, results: list[ReliabilityResult] | None = None) -> PatternChange:
    """Scoring as a change of the ticket's pattern: the score is computed from the locked
    pattern row as the changes before it in the same ``pattern_update`` left it, and moves
    the pattern's reliability sums in that same write. ``results`` receives the result."""

    def change(pattern: Pattern) -> list[str]:
        result, old, new = _score(ticket, pattern)
        if results is not None:
            results.append(result)
        if ticket.outcome not in (TicketOutcome.SUCCESS, TicketOutcome.FAILURE):
            return []  # the pattern's average counts concluded tickets only
        return reliability_moved(old=old, new=new)(pattern)

    return change


def _score(
    ticket: Ticket, pattern: Pattern | None
) -> tuple[ReliabilityResult, float | None, float]:
    """Compute and store the ticket's score, move its category-day sums, audit it."""
    result = compute_reliability(reliability_inputs(ticket, pattern))
    old = ticket.reliability_score
    new = result.overall_score
    breakdown = breakdown_dict(result)

    ticket.reliability_score = new
    ticket.reliability_breakdown = breakdown
    ticket.save(update_fields=["reliability_score", "reliability_breakdown", "updated_at"])
    rollups.record_reliability_change(ticket, old, new)

    audit(
        AuditAction.SCORED,
        f"Reliability {new:.1f} ({result.confidence_level})"
        + (f", was {old:.1f}" if old is not None else ""),
        ticket=ticket,
        details={"previous_score": old, **breakdown},
    )
    return result, old, new
