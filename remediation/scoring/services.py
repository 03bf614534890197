"""Scoring a ticket: gather the facts, call the pure score, store it, keep the sums in step.

The facts come from the category's daily rollups, its calibration rollup (the AI factor's
calibration, ``CalibrationDailyStats``) and the ticket's pattern, so scoring costs the same
queries, each over a bounded window of rows, with ten past tickets as with a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from patterns.models import Pattern
from patterns.rules.signature import keyed_on_cause, signature_for, similarity
from patterns.services import PatternChange, pattern_update, reliability_moved
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.scoring.models import CalibrationFit
from remediation.scoring.rules import (
    CALIBRATION_WINDOW_DAYS,
    FEEDBACK_HORIZON_DAYS,
    SUCCESS_HISTORY_WINDOW_DAYS,
    Calibrated,
    ConfidenceHistory,
    FeedbackDay,
    PatternFacts,
    Prior,
    ReliabilityInputs,
    ReliabilityResult,
    SuccessFacts,
    bin_index,
    breakdown_dict,
    calibrated_probability,
    calibration_fit,
    compute_reliability,
    prior_for,
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
    """The facts the score of ``ticket`` depends on, as of now. Three queries, and the
    stored calibration fit (one indexed read, cached per version)."""
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
        prior=ticket_prior(ticket),
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


# --- The stored calibration fit (docs/reliability.md, "The calibrated probability") --------


@dataclass(frozen=True)
class StoredFit:
    version: int
    parameters: dict[str, Any]


# Parsed fits by (version, fitted_at): a row never changes, so it is read once per process
# (fitted_at too, so a table emptied and refilled cannot serve an old version's numbers).
_FIT_CACHE: dict[tuple[int, datetime], StoredFit] = {}


def current_fit() -> StoredFit | None:
    """The newest calibration fit: one read of the newest version by its unique index, the
    parameters from the cache when that version was read before (then none more)."""
    newest = CalibrationFit.objects.order_by("-version").values_list("version", "fitted_at").first()
    if newest is None:
        return None
    cached = _FIT_CACHE.get(newest)
    if cached is None:
        parameters = CalibrationFit.objects.values_list("parameters", flat=True).get(
            version=newest[0]
        )
        cached = StoredFit(newest[0], parameters if isinstance(parameters, dict) else {})
        _FIT_CACHE.clear()  # only the newest is ever asked for
        _FIT_CACHE[newest] = cached
    return cached


def ticket_cause_and_operation(ticket: Ticket) -> tuple[str, str]:
    """The established cause of the ticket's diagnosis ("" if none) and the operation of its
    first proposed action ("" if none): what its prior is looked up by."""
    diagnosis = ticket.diagnosis if isinstance(ticket.diagnosis, dict) else {}
    cause = str(diagnosis.get("cause") or "") if diagnosis.get("established") is True else ""
    actions = ticket.suggested_actions if isinstance(ticket.suggested_actions, list) else []
    operation = ""
    if actions and isinstance(actions[0], dict):
        operation = str(actions[0].get("operation") or "")
    return cause, operation


def ticket_prior(ticket: Ticket, fit: StoredFit | None = None) -> Prior | None:
    fit = fit or current_fit()
    if fit is None:
        return None
    cause, operation = ticket_cause_and_operation(ticket)
    return prior_for(fit.parameters.get("priors"), cause=cause, operation=operation)


def ticket_probability(ticket: Ticket, score: float | None) -> Calibrated | None:
    """The calibrated probability for ``score`` of ``ticket``'s category, from the stored
    fit (no history is read)."""
    fit = current_fit()
    if fit is None:
        return None
    return calibrated_probability(
        fit.parameters, version=fit.version, category=ticket.category, score=score
    )


def _fit_inputs(since: date) -> tuple[dict[str, list[tuple[float, bool]]], dict[str, Any]]:
    """The (score the decision saw / 100, succeeded) pairs per category, and the priors'
    counts (estate; per operation; per cause and operation, of executed tickets)."""
    pairs: dict[str, list[tuple[float, bool]]] = {}
    estate = [0, 0]
    operations: dict[str, list[int]] = {}
    causes: dict[str, list[int]] = {}
    rows = (
        Ticket.objects.filter(
            concluded_analyzed(),
            created_at__gte=timezone.make_aware(datetime.combine(since, time.min)),
        )
        .order_by("pk")
        .values_list(
            "pk",
            "category",
            "decided_reliability_score",
            "reliability_score",
            "outcome",
            "auto_remediation_executed",
        )
    )
    executed_pks = []
    for pk, category, decided, score, outcome, executed in rows.iterator(chunk_size=2000):
        success = outcome == TicketOutcome.SUCCESS
        seen = decided if decided is not None else score
        if seen is not None:
            pairs.setdefault(category, []).append((float(seen) / 100.0, success))
        estate[0 if success else 1] += 1
        if executed:
            executed_pks.append(pk)
    for ticket in (
        Ticket.objects.filter(pk__in=executed_pks)
        .only("pk", "outcome", "diagnosis", "suggested_actions")
        .iterator(chunk_size=500)
    ):
        cause, operation = ticket_cause_and_operation(ticket)
        if not operation:
            continue
        index = 0 if ticket.outcome == TicketOutcome.SUCCESS else 1
        operations.setdefault(operation, [0, 0])[index] += 1
        if cause:
            causes.setdefault(f"{cause}|{operation}", [0, 0])[index] += 1
    priors = {"estate": estate, "operations": operations, "causes": causes}
    return pairs, priors


def calibration_refit(*, trigger: str) -> CalibrationFit | None:
    """Fit the calibration and the priors on the concluded tickets of the window and store a
    new version when anything differs from the newest one (audited); None when unchanged.
    Scans the window's history: run it on the schedule or after ``recompute_patterns``,
    never per ticket."""
    today = timezone.localdate()
    pairs, priors = _fit_inputs(today - timedelta(days=CALIBRATION_WINDOW_DAYS - 1))
    parameters = {**calibration_fit(pairs), "priors": priors}
    counts = {category: len(p) for category, p in sorted(pairs.items())}
    with transaction.atomic():
        latest = CalibrationFit.objects.select_for_update().order_by("-version").first()
        if latest is not None and latest.parameters == parameters:
            return None
        version = (latest.version if latest is not None else 0) + 1
        fit = CalibrationFit.objects.create(
            version=version,
            fitted_at=timezone.now(),
            trigger=trigger[:40],
            window_days=CALIBRATION_WINDOW_DAYS,
            parameters=parameters,
            counts=counts,
        )
        own = parameters.get("categories")
        own = own if isinstance(own, dict) else {}
        fitted = {name: own[name]["n"] if name in own else 0 for name in counts}
        audit(
            AuditAction.CALIBRATION_FITTED,
            f"Calibration v{version} fitted ({trigger}) on {sum(counts.values())} concluded "
            f"tickets",
            details={
                "version": version,
                "previous_version": latest.version if latest is not None else None,
                "trigger": trigger,
                "window_days": CALIBRATION_WINDOW_DAYS,
                "counts": counts,
                "fitted_categories": fitted,
                "estate_fitted": parameters["estate"] is not None,
                "priors": priors,
            },
        )
    return fit
