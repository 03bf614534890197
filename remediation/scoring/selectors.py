"""Calibration: the reliability score and the analyzer's confidence against outcomes.

Both are predictions of whether a remediation will succeed. The tickets that check them are
the concluded ones (outcome success or failure) that an analyzer looked at, with their
stored ``reliability_score`` (/ 100) and ``confidence_score``. The figures themselves are
computed by the pure ``remediation.scoring.rules.report_from_totals``; here the database
sums each bin, grouped by category, analyzer, bin and outcome: four queries (one per
prediction), whatever the history. Like the other statistics, they cover every ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from remediation.rules import mean, ratio
from remediation.scoring.rules import (
    CALIBRATION_BINS,
    HIGH_MIN_SCORE,
    MEDIUM_MIN_SCORE,
    PERCENT,
    SCORE_DECIMALS,
    VERY_HIGH_MIN_SCORE,
    BinTotals,
    CalibrationReport,
    ConfidenceLevel,
    bin_edges,
    empty_totals,
    report_from_totals,
)
from remediation.scoring.services import concluded_analyzed
from remediation.tickets.models import CategoryDailyStats, Ticket, TicketOutcome, TicketStatus

RELIABILITY = "reliability"
AI_CONFIDENCE = "ai_confidence"
# The calibrated probability the decision saw beside the score (tickets decided with a
# fit), and the number its reliability thresholds used (that probability x 100, or the score).
CALIBRATED = "calibrated_probability"
GATE = "gate"
PREDICTIONS = (RELIABILITY, AI_CONFIDENCE, CALIBRATED, GATE)


def _bin_case(expression: str) -> Case:
    """The bin of the annotated probability ``expression``, by the same edges as
    ``rules.bin_index``: k where edge[k] <= p < edge[k+1], the last bin taking 1.0."""
    edges = bin_edges(CALIBRATION_BINS)
    return Case(
        *(
            When(**{f"{expression}__lt": edges[k]}, then=Value(k - 1))
            for k in range(1, CALIBRATION_BINS)
        ),
        default=Value(CALIBRATION_BINS - 1),
    )


def _probability(expression: Any) -> Any:
    return Greatest(Least(expression, Value(1.0)), Value(0.0), output_field=FloatField())


def _grouped(tickets: QuerySet[Ticket], prediction: str) -> QuerySet[Any]:
    """One row per (category, analyzer, bin, outcome): how many, the sum of the predictions
    and the sum of their squares."""
    if prediction == RELIABILITY:
        # The score the decision saw; a ticket decided before it was kept, its score now.
        score = Coalesce(F("decided_reliability_score"), F("reliability_score"))
        tickets = tickets.annotate(score=score).filter(score__isnull=False)
        tickets = tickets.annotate(p=_probability(F("score") / Value(PERCENT)))
    elif prediction == CALIBRATED:
        tickets = tickets.filter(decided_probability__isnull=False)
        tickets = tickets.annotate(p=_probability(F("decided_probability")))
    elif prediction == GATE:
        gate = Coalesce(
            F("decided_gate_reliability"), F("decided_reliability_score"), F("reliability_score")
        )
        tickets = tickets.annotate(score=gate).filter(score__isnull=False)
        tickets = tickets.annotate(p=_probability(F("score") / Value(PERCENT)))
    else:
        tickets = tickets.annotate(p=_probability(F("confidence_score")))
    return (
        tickets.annotate(bin=_bin_case("p"))
        .values("category", "analyzer", "bin", "outcome")
        .annotate(n=Count("id"), sum_p=Sum("p"), sum_p2=Sum(F("p") * F("p")))
        .order_by()
    )


@dataclass
class _Totals:
    by_prediction: dict[str, list[BinTotals]] = field(
        default_factory=lambda: {name: empty_totals() for name in PREDICTIONS}
    )

    def add(self, prediction: str, row: dict[str, Any]) -> None:
        self.by_prediction[prediction][int(row["bin"])].add(
            success=row["outcome"] == TicketOutcome.SUCCESS,
            count=row["n"],
            sum_predicted=float(row["sum_p"] or 0.0),
            sum_squared=float(row["sum_p2"] or 0.0),
        )

    def reports(self) -> dict[str, CalibrationReport]:
        return {name: report_from_totals(t) for name, t in self.by_prediction.items()}


def calibration_stats(
    *,
    days: int,
    category: str | None = None,
    analyzer: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The calibration of both predictions over the tickets created in the last ``days``
    days (today included), optionally of one category and one analyzer: overall, by
    category and by analyzer. One query per prediction (four)."""
    now = now or timezone.now()
    since = timezone.localdate(now) - timedelta(days=days - 1)
    tickets = Ticket.objects.filter(
        concluded_analyzed(),
        created_at__gte=timezone.make_aware(datetime.combine(since, time.min)),
    )
    if category is not None:
        tickets = tickets.filter(category=category)
    if analyzer is not None:
        tickets = tickets.filter(analyzer=analyzer)

    overall = _Totals()
    per_category: dict[str, _Totals] = {}
    per_analyzer: dict[str, _Totals] = {}
    for prediction in PREDICTIONS:
        for row in _grouped(tickets, prediction):
            overall.add(prediction, row)
            per_category.setdefault(row["category"], _Totals()).add(prediction, row)
            per_analyzer.setdefault(row["analyzer"], _Totals()).add(prediction, row)

    return {
        "days": days,
        "since": since.isoformat(),
        "category": category,
        "analyzer": analyzer,
        **overall.reports(),
        "by_category": _breakdown("category", per_category.items()),
        "by_analyzer": _breakdown("analyzer", per_analyzer.items()),
    }


def _breakdown(key: str, items: Iterable[tuple[str, _Totals]]) -> list[dict[str, Any]]:
    return [
        {key: name, **totals.reports()} for name, totals in sorted(items, key=lambda item: item[0])
    ]


# --- GET /api/v1/stats/reliability ----------------------------------------------------------
#
# The design's reliability and feedback metrics over a window, read from the daily rollups
# (one grouped query) plus one grouped aggregate over the tickets of the window, so the cost
# does not depend on how many tickets or feedbacks there are. Like the rollups they read,
# these numbers cover every ticket: they are aggregates and name no ticket.

RATE_DECIMALS = 4
RATING_DECIMALS = 2

_ROLLUP_SUMS = (
    "tickets",
    "feedback_count",
    "positive_count",
    "negative_count",
    "neutral_count",
    "rating_sum",
    "confidence_sum",
    "reliability_sum",
    "reliability_count",
)
_LEVEL_FILTERS = {
    ConfidenceLevel.VERY_HIGH: Q(reliability_score__gte=VERY_HIGH_MIN_SCORE),
    ConfidenceLevel.HIGH: Q(reliability_score__gte=HIGH_MIN_SCORE)
    & Q(reliability_score__lt=VERY_HIGH_MIN_SCORE),
    ConfidenceLevel.MEDIUM: Q(reliability_score__gte=MEDIUM_MIN_SCORE)
    & Q(reliability_score__lt=HIGH_MIN_SCORE),
    ConfidenceLevel.LOW: Q(reliability_score__lt=MEDIUM_MIN_SCORE),
}


@dataclass
class _ReliabilityTotals:
    tickets: int = 0
    resolved: int = 0
    scored: int = 0
    analyzed: int = 0
    feedback: int = 0
    positive: int = 0
    negative: int = 0
    neutral: int = 0
    rating_sum: int = 0
    confidence_sum: float = 0.0
    reliability_sum: float = 0.0
    reliability_count: int = 0
    levels: dict[ConfidenceLevel, int] = field(
        default_factory=lambda: dict.fromkeys(ConfidenceLevel, 0)
    )

    def add_rollup(self, row: Mapping[str, Any]) -> None:
        self.analyzed += row["tickets"] or 0
        self.feedback += row["feedback_count"] or 0
        self.positive += row["positive_count"] or 0
        self.negative += row["negative_count"] or 0
        self.neutral += row["neutral_count"] or 0
        self.rating_sum += row["rating_sum"] or 0
        self.confidence_sum += row["confidence_sum"] or 0.0
        self.reliability_sum += row["reliability_sum"] or 0.0
        self.reliability_count += row["reliability_count"] or 0

    def add_tickets(self, row: Mapping[str, Any]) -> None:
        self.tickets += row["total"]
        self.resolved += row["resolved"]
        self.scored += row["scored"]
        for level in ConfidenceLevel:
            self.levels[level] += row[str(level)]

    def metrics(self) -> dict[str, Any]:
        return {
            "total_tickets": self.tickets,
            "analyzed_tickets": self.analyzed,
            "scored_tickets": self.scored,
            "resolved_tickets": self.resolved,
            "avg_reliability_score": mean(
                self.reliability_sum, self.reliability_count, SCORE_DECIMALS
            ),
            "avg_confidence_score": mean(self.confidence_sum, self.analyzed, RATE_DECIMALS),
            "resolution_rate": ratio(self.resolved, self.tickets),
            "feedback_count": self.feedback,
            "positive_feedback_rate": ratio(self.positive, self.feedback),
            "negative_feedback_rate": ratio(self.negative, self.feedback),
            "neutral_feedback_rate": ratio(self.neutral, self.feedback),
            "avg_rating": mean(self.rating_sum, self.feedback, RATING_DECIMALS),
            "confidence_levels": {str(level): n for level, n in self.levels.items()},
        }


def reliability_stats(*, days: int, now: datetime | None = None) -> dict[str, Any]:
    """The metrics of the last ``days`` days, today included, overall and per category.

    Tickets count in the window by the day they were created (the rollups' bucket); feedback
    by the day it was given. Averages and rates are null when nothing was there to average.
    Two queries, whatever the history.
    """
    now = now or timezone.now()
    since = timezone.localdate(now) - timedelta(days=days - 1)
    since_at = timezone.make_aware(datetime.combine(since, time.min))

    overall = _ReliabilityTotals()
    per_category: dict[str, _ReliabilityTotals] = {}

    rollups = (
        CategoryDailyStats.objects.filter(day__gte=since)
        .values("category")
        .annotate(**{name: Sum(name) for name in _ROLLUP_SUMS})
        .order_by("category")
    )
    for row in rollups:
        overall.add_rollup(row)
        per_category.setdefault(row["category"], _ReliabilityTotals()).add_rollup(row)

    scored = Q(reliability_score__isnull=False)
    tickets = (
        Ticket.objects.filter(created_at__gte=since_at)
        .values("category")
        .annotate(
            total=Count("id"),
            resolved=Count("id", filter=Q(status=TicketStatus.RESOLVED)),
            scored=Count("id", filter=scored),
            **{str(level): Count("id", filter=scored & q) for level, q in _LEVEL_FILTERS.items()},
        )
        .order_by("category")
    )
    for row in tickets:
        overall.add_tickets(row)
        per_category.setdefault(row["category"], _ReliabilityTotals()).add_tickets(row)

    return {
        "days": days,
        "since": since.isoformat(),
        **overall.metrics(),
        "by_category": [
            {"category": category, **totals.metrics()}
            for category, totals in sorted(per_category.items())
        ],
    }
