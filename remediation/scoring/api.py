"""GET /api/v1/stats/reliability and /api/v1/stats/calibration: the design's reliability and
feedback metrics, and the calibration, over a window. The reads are
``remediation.scoring.selectors`` (``reliability_stats``, ``calibration_stats``); every rate
is ``remediation.rules.ratio``, null when there is nothing to divide by.
"""

from __future__ import annotations

import re
from typing import Any

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
from remediation.scoring.selectors import calibration_stats, reliability_stats

DEFAULT_DAYS = 30
MIN_DAYS = 1
MAX_DAYS = 3650  # ten years: enough for any report, small enough to keep a date in range


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
