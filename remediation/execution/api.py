"""GET /api/v1/stats/auto-remediation: the design's auto-remediation and pattern metrics
(read by ``remediation.execution.selectors.auto_remediation_stats``; the definitions there).
"""

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
from remediation.execution.selectors import auto_remediation_stats
from remediation.scoring.api import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS, DaysField


class _Metrics(serializers.Serializer):
    enabled_tickets = serializers.IntegerField(help_text="Tickets that opted in")
    executed_tickets = serializers.IntegerField()
    allowed_tickets = serializers.IntegerField(help_text="Opted-in tickets the engine allowed")
    approval_required_tickets = serializers.IntegerField()
    execution_rate = serializers.FloatField(allow_null=True, help_text="executed / enabled, 0-1")
    approval_rate = serializers.FloatField(allow_null=True, help_text="needing a person, 0-1")
    executions = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    rolled_back = serializers.IntegerField()
    failed = serializers.IntegerField()
    unknown = serializers.IntegerField(help_text="Outcome unknown; a person reconciles")
    refused = serializers.IntegerField(help_text="Refused at claim; nothing ran")
    execution_success_rate = serializers.FloatField(
        allow_null=True,
        help_text="Execution success: succeeded / (succeeded + rolled back + failed), 0-1; "
        "null when none concluded",
    )
    outcome_succeeded = serializers.IntegerField(
        help_text="Executed tickets whose outcome is success (the fix held, or is on hold)"
    )
    outcome_failed = serializers.IntegerField(
        help_text="Executed tickets whose outcome is failure (the run failed, or the fix "
        "did not hold)"
    )
    outcome_success_rate = serializers.FloatField(
        allow_null=True,
        help_text="Outcome success: outcome_succeeded / (outcome_succeeded + outcome_failed), "
        "0-1; null when none concluded",
    )


class _Category(_Metrics):
    class Meta:
        ref_name = "AutoRemediationCategoryStats"

    category = serializers.CharField()


class _OperationCount(serializers.Serializer):
    class Meta:
        ref_name = "ExecutedActionCount"

    operation = serializers.CharField()
    state = serializers.CharField()
    n = serializers.IntegerField()


class AutoRemediationStatsApi(APIView):
    # Draws on every user's tickets: approvers and admins by default, an integration only
    # when granted the permission (as stats/reliability).
    permission_classes = [require_permission(PATTERN_STATS_PERMISSION)]

    class FilterSerializer(StrictInputMixin, serializers.Serializer):
        days = DaysField(
            min_value=MIN_DAYS, max_value=MAX_DAYS, required=False, default=DEFAULT_DAYS
        )

    class OutputSerializer(_Metrics):
        class Meta:
            ref_name = "AutoRemediationStats"

        days = serializers.IntegerField()
        since = serializers.DateField()
        eligible_patterns = serializers.IntegerField()
        pattern_outcome_success_rate = serializers.FloatField(
            allow_null=True,
            help_text="Outcome success over every pattern's remediated tickets, 0-1; null "
            "without any",
        )
        open_circuit_breakers = serializers.IntegerField()
        actions_by_operation = _OperationCount(many=True)
        by_category = _Category(many=True)

    @extend_schema(
        operation_id="stats_auto_remediation",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **error_responses(400, 401, 403)},
        summary="Auto-remediation execution, execution success, outcome success and approval "
        "rates over the last N days",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        stats = auto_remediation_stats(days=filters.validated_data["days"])
        return Response(self.OutputSerializer(stats).data)
