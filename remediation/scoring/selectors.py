"""Calibration: the reliability score and the analyzer's confidence against outcomes.

Both are predictions of whether a remediation will succeed. The tickets that check them are
the concluded ones (outcome success or failure) that an analyzer looked at, with their
stored ``reliability_score`` (/ 100) and ``confidence_score``. The figures themselves are
computed by the pure ``remediation.scoring.rules.report_from_totals``; here the database
sums each bin, grouped by category, analyzer, bin and outcome: two queries (one per
prediction), whatever the history. Like the other statistics, they cover every ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Case, Count, F, FloatField, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from remediation.scoring.rules import (
    CALIBRATION_BINS,
    PERCENT,
    BinTotals,
    CalibrationReport,
    bin_edges,
    empty_totals,
    report_from_totals,
)
from remediation.scoring.services import concluded_analyzed
from remediation.tickets.models import Ticket, TicketOutcome

RELIABILITY = "reliability"
AI_CONFIDENCE = "ai_confidence"
PREDICTIONS = (RELIABILITY, AI_CONFIDENCE)


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
    category and by analyzer. Two queries."""
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
