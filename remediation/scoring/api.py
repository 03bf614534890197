"""GET /api/v1/stats/reliability: the design's reliability and feedback metrics over a window.

Read from the daily rollups (one grouped query) plus one grouped aggregate over the tickets
of the window, so the cost does not depend on how many tickets or feedbacks there are.

Like the rollups they read, these numbers cover every ticket, not only the caller's: they
are aggregates and name no ticket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    CATEGORY_REGEX,
    PATTERN_STATS_PERMISSION,
    SafeCharField,
    StrictInputMixin,
    error_responses,
    require_permission,
)
from remediation.scoring.rules import (
    HIGH_MIN_SCORE,
    MEDIUM_MIN_SCORE,
    SCORE_DECIMALS,
    VERY_HIGH_MIN_SCORE,
    ConfidenceLevel,
)
from remediation.scoring.selectors import calibration_stats
from remediation.tickets.models import CategoryDailyStats, Ticket, TicketStatus

DEFAULT_DAYS = 30
MIN_DAYS = 1
MAX_DAYS = 3650  # ten years: enough for any report, small enough to keep a date in range
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


def _ratio(numerator: float, denominator: float, decimals: int) -> float | None:
    """None when there is nothing to divide by: "no data" is not the same as 0 %."""
    if not denominator:
        return None
    return round(numerator / denominator, decimals)


@dataclass
class _Totals:
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
            "avg_reliability_score": _ratio(
                self.reliability_sum, self.reliability_count, SCORE_DECIMALS
            ),
            "avg_confidence_score": _ratio(self.confidence_sum, self.analyzed, RATE_DECIMALS),
            "resolution_rate": _ratio(self.resolved, self.tickets, RATE_DECIMALS),
            "feedback_count": self.feedback,
            "positive_feedback_rate": _ratio(self.positive, self.feedback, RATE_DECIMALS),
            "negative_feedback_rate": _ratio(self.negative, self.feedback, RATE_DECIMALS),
            "neutral_feedback_rate": _ratio(self.neutral, self.feedback, RATE_DECIMALS),
            "avg_rating": _ratio(self.rating_sum, self.feedback, RATING_DECIMALS),
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

    overall = _Totals()
    per_category: dict[str, _Totals] = {}

    rollups = (
        CategoryDailyStats.objects.filter(day__gte=since)
        .values("category")
        .annotate(**{name: Sum(name) for name in _ROLLUP_SUMS})
        .order_by("category")
    )
    for row in rollups:
        overall.add_rollup(row)
        per_category.setdefault(row["category"], _Totals()).add_rollup(row)

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
        per_category.setdefault(row["category"], _Totals()).add_tickets(row)

    return {
        "days": days,
        "since": since.isoformat(),
        **overall.metrics(),
        "by_category": [
            {"category": category, **totals.metrics()}
            for category, totals in sorted(per_category.items())
        ],
    }


class DaysField(serializers.IntegerField):
    """Whole days, written as digits only: refuses "1e3", "30.0", " 30" and the like rather
    than guessing what was meant."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        if isinstance(data, str) and not re.fullmatch(r"[0-9]+", data):
            if re.fullmatch(r"-[0-9]+", data):
                self.fail("min_value", min_value=self.min_value)
            self.fail("invalid")
        return super().to_internal_value(data)


class _LevelsSerializer(serializers.Serializer):
    very_high = serializers.IntegerField()
    high = serializers.IntegerField()
    medium = serializers.IntegerField()
    low = serializers.IntegerField()


class _MetricsSerializer(serializers.Serializer):
    total_tickets = serializers.IntegerField(help_text="Tickets created in the window")
    analyzed_tickets = serializers.IntegerField()
    scored_tickets = serializers.IntegerField()
    resolved_tickets = serializers.IntegerField()
    avg_reliability_score = serializers.FloatField(allow_null=True, help_text="0-100")
    avg_confidence_score = serializers.FloatField(allow_null=True, help_text="0-1")
    resolution_rate = serializers.FloatField(allow_null=True, help_text="resolved share, 0-1")
    feedback_count = serializers.IntegerField()
    positive_feedback_rate = serializers.FloatField(allow_null=True, help_text="0-1")
    negative_feedback_rate = serializers.FloatField(allow_null=True, help_text="0-1")
    neutral_feedback_rate = serializers.FloatField(allow_null=True, help_text="0-1")
    avg_rating = serializers.FloatField(allow_null=True, help_text="1-5")
    confidence_levels = _LevelsSerializer(help_text="Scored tickets per confidence level")


class _CategoryMetricsSerializer(_MetricsSerializer):
    category = serializers.CharField()


class ReliabilityStatsApi(APIView):
    # Draws on every user's tickets (key terms come from their text): approvers and admins
    # by default, an integration only when granted the permission.
    permission_classes = [require_permission(PATTERN_STATS_PERMISSION)]

    class FilterSerializer(StrictInputMixin, serializers.Serializer):
        days = DaysField(
            min_value=MIN_DAYS, max_value=MAX_DAYS, required=False, default=DEFAULT_DAYS
        )

    class OutputSerializer(_MetricsSerializer):
        days = serializers.IntegerField()
        since = serializers.DateField(help_text="First day of the window")
        by_category = _CategoryMetricsSerializer(many=True)

    @extend_schema(
        operation_id="stats_reliability",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **error_responses(400, 401, 403)},
        summary="Reliability and feedback metrics over the last N days",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        stats = reliability_stats(days=filters.validated_data["days"])
        return Response(self.OutputSerializer(stats).data)


# --- GET /api/v1/stats/calibration ----------------------------------------------------------

CALIBRATION_DEFAULT_DAYS = 365
ANALYZER_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$"


class CalibrationFilterSerializer(StrictInputMixin, serializers.Serializer):
    category = SafeCharField(
        max_length=50,
        required=False,
        regex=CATEGORY_REGEX,
        regex_message="Must be a category: letters, digits, hyphens, underscores.",
        help_text="Only this category's tickets (an unknown one gives empty figures).",
    )
    analyzer = SafeCharField(
        max_length=32,
        required=False,
        regex=ANALYZER_REGEX,
        regex_message="Must be an analyzer name: letters, digits, dots, hyphens, underscores.",
        help_text="Only tickets analyzed by this analyzer (e.g. local, anthropic).",
    )
    days = DaysField(
        min_value=MIN_DAYS,
        max_value=MAX_DAYS,
        required=False,
        default=CALIBRATION_DEFAULT_DAYS,
        help_text="Tickets created in the last N days, today included.",
    )


class _CalibrationBinSerializer(serializers.Serializer):
    lower = serializers.FloatField(help_text="Lower edge of the bin (included)")
    upper = serializers.FloatField(help_text="Upper edge (excluded, but 1.0 is in the last bin)")
    count = serializers.IntegerField(help_text="Concluded tickets whose prediction fell here")
    mean_predicted = serializers.FloatField(allow_null=True, help_text="0-1; null when empty")
    observed_rate = serializers.FloatField(
        allow_null=True, help_text="Share that succeeded, 0-1; null when empty"
    )


class _CalibrationReportSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Concluded tickets with this prediction")
    ece = serializers.FloatField(
        allow_null=True,
        help_text="Expected calibration error: sum over bins of n_bin/N x |mean predicted - "
        "observed rate|; null without outcomes",
    )
    brier = serializers.FloatField(
        allow_null=True,
        help_text="Brier score: mean of (prediction - outcome)^2; null without outcomes",
    )
    bins = _CalibrationBinSerializer(many=True, help_text="Ten equal-width bins over 0-1")


class _CalibrationPairSerializer(serializers.Serializer):
    reliability = _CalibrationReportSerializer(help_text="The reliability score / 100")
    ai_confidence = _CalibrationReportSerializer(help_text="The analyzer's confidence")


class _CalibrationCategorySerializer(_CalibrationPairSerializer):
    category = serializers.CharField()


class _CalibrationAnalyzerSerializer(_CalibrationPairSerializer):
    analyzer = serializers.CharField()


class CalibrationStatsSerializer(_CalibrationPairSerializer):
    days = serializers.IntegerField()
    since = serializers.DateField(help_text="First day of the window")
    category = serializers.CharField(allow_null=True, help_text="The category filter")
    analyzer = serializers.CharField(allow_null=True, help_text="The analyzer filter")
    by_category = _CalibrationCategorySerializer(many=True)
    by_analyzer = _CalibrationAnalyzerSerializer(many=True)


class CalibrationStatsApi(APIView):
    # Draws on every user's tickets: the same permission as the other statistics.
    permission_classes = [require_permission(PATTERN_STATS_PERMISSION)]

    @extend_schema(
        operation_id="stats_calibration",
        parameters=[CalibrationFilterSerializer],
        responses={200: CalibrationStatsSerializer, **error_responses(400, 401, 403)},
        summary="Calibration of the reliability score and the AI confidence against outcomes",
        description="Concluded tickets (outcome success or failure) that an analyzer looked "
        "at, created in the last `days` days: a reliability diagram (ten bins), the expected "
        "calibration error and the Brier score, overall, by category and by analyzer. "
        "Two queries, whatever the history.",
    )
    def get(self, request: Request) -> Response:
        filters = CalibrationFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        stats = calibration_stats(
            days=filters.validated_data["days"],
            category=filters.validated_data.get("category"),
            analyzer=filters.validated_data.get("analyzer"),
        )
        return Response(CalibrationStatsSerializer(stats).data)
