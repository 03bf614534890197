"""GET /api/v1/stats/analytics: autonomy week by week (``remediation.metrics.analytics``),
the numbers the analytics page draws."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    PATTERN_STATS_PERMISSION,
    StrictInputMixin,
    error_responses,
    require_permission,
)
from remediation.metrics.analytics import analytics
from remediation.scoring.api import DaysField

MAX_WEEKS = 104
DEFAULT_WEEKS = 12


class WeeksSerializer(StrictInputMixin, serializers.Serializer):
    # Whole numbers written as digits only, as the other statistics' ``days``.
    weeks = DaysField(min_value=1, max_value=MAX_WEEKS, required=False, default=DEFAULT_WEEKS)


class WeekSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="The week's Monday")
    unattended = serializers.IntegerField(help_text="Executions the engine decided alone")
    with_person = serializers.IntegerField(help_text="Executions after a person approved")
    refused = serializers.IntegerField(help_text="Decisions that refused to act")
    ended = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    rolled_back = serializers.IntegerField()
    execution_success_rate = serializers.FloatField(
        allow_null=True,
        help_text="Execution success: succeeded / (succeeded + rolled back + failed) of the "
        "executions that ended in the week; null when none concluded",
    )
    rollback_rate = serializers.FloatField(
        allow_null=True, help_text="rolled back / concluded executions; null when none"
    )
    outcome_succeeded = serializers.IntegerField(
        help_text="Executed tickets created in the week whose outcome is success"
    )
    outcome_failed = serializers.IntegerField(
        help_text="Executed tickets created in the week whose outcome is failure (the run "
        "failed, or the fix did not hold)"
    )
    outcome_success_rate = serializers.FloatField(
        allow_null=True,
        help_text="Outcome success: outcome_succeeded / (outcome_succeeded + outcome_failed); "
        "null when none concluded",
    )
    false_autonomy = serializers.IntegerField()
    false_autonomy_rate = serializers.FloatField(
        allow_null=True, help_text="false_autonomy / unattended; null when none ran unattended"
    )
    unattended_share = serializers.FloatField(allow_null=True, help_text="null when none ran")
    approvals_decided = serializers.IntegerField()
    approval_latency_seconds = serializers.FloatField(allow_null=True, help_text="mean")
    resolve_seconds_unattended = serializers.FloatField(allow_null=True, help_text="mean")
    resolve_seconds_person = serializers.FloatField(allow_null=True, help_text="mean")
    patterns_earned = serializers.IntegerField()
    patterns_lost = serializers.IntegerField()


class AnalyticsSerializer(serializers.Serializer):
    weeks = serializers.IntegerField()
    rows = WeekSerializer(many=True)


class AnalyticsApi(APIView):
    permission_classes = [require_permission(PATTERN_STATS_PERMISSION)]

    @extend_schema(
        operation_id="stats_analytics",
        parameters=[WeeksSerializer],
        responses={200: AnalyticsSerializer, **error_responses(400, 401, 403)},
        summary="Autonomy week by week: unattended, with a person, refused; rates; latency",
        description="Each number has one definition, shared with /metrics and the analytics "
        "page (docs/observability.md, 'Analytics'). The current week is the last row.",
    )
    def get(self, request: Request) -> Response:
        query = WeeksSerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return Response(AnalyticsSerializer(analytics(query.validated_data["weeks"])).data)
