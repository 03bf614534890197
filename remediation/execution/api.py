"""GET /api/v1/stats/auto-remediation: the design's auto-remediation and pattern metrics.

* execution_rate: of the tickets that opted in (``enable_auto_remediation``), the share
  whose actions were executed.
* success_rate: of the executions that concluded (succeeded, rolled back or failed), the
  share that succeeded. Unknown outcomes are counted apart: they are neither.
* approval_rate: of the opted-in tickets the engine allowed, the share that needed a person.
* eligible_patterns / pattern_success_rate: patterns eligible (and switched on) now, and
  remediation successes over attempts across all patterns.

Tickets count by the day they were created, executions by the day they were requested.
A fixed number of grouped queries, whatever the history.
"""

from __future__ import annotations

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
    PATTERN_STATS_PERMISSION,
    StrictInputMixin,
    error_responses,
    require_permission,
)
from patterns.models import Pattern
from remediation.execution import rates
from remediation.execution.models import CircuitBreaker, Execution, ExecutionState, ExecutionStep
from remediation.scoring.api import (
    DEFAULT_DAYS,
    MAX_DAYS,
    MIN_DAYS,
    RATE_DECIMALS,
    DaysField,
    _ratio,
)
from remediation.tickets.models import Ticket


def _metrics(t: dict[str, int], e: dict[str, int]) -> dict[str, Any]:
    return {
        "enabled_tickets": t["enabled"],
        "executed_tickets": t["executed"],
        "allowed_tickets": t["allowed"],
        "approval_required_tickets": t["needs_approval"],
        "execution_rate": _ratio(t["executed"], t["enabled"], RATE_DECIMALS),
        "approval_rate": _ratio(t["needs_approval"], t["allowed"], RATE_DECIMALS),
        "executions": e["total"],
        "succeeded": e["succeeded"],
        "rolled_back": e["rolled_back"],
        "failed": e["failed"],
        "unknown": e["unknown"],
        "refused": e["refused"],
        # The one definition (remediation.execution.rates), shared with /metrics.
        "success_rate": rates.success_rate(e),
    }


_ZERO_T = {"enabled": 0, "executed": 0, "allowed": 0, "needs_approval": 0}
_ZERO_E = dict.fromkeys(("total", "succeeded", "rolled_back", "failed", "unknown", "refused"), 0)


def _by_category(rows: Any, keys: dict[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        values: dict[str, Any] = dict(row)
        out[str(values["category"])] = {k: int(values[k]) for k in keys}
    return out


def auto_remediation_stats(*, days: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    since = timezone.localdate(now) - timedelta(days=days - 1)
    since_at = timezone.make_aware(datetime.combine(since, time.min))

    enabled = Q(auto_remediation_enabled=True)
    allowed = enabled & Q(remediation_decision__allowed=True)
    tickets = (
        Ticket.objects.filter(created_at__gte=since_at)
        .values("category")
        .annotate(
            enabled=Count("id", filter=enabled),
            executed=Count("id", filter=enabled & Q(auto_remediation_executed=True)),
            allowed=Count("id", filter=allowed),
            needs_approval=Count(
                "id", filter=allowed & Q(remediation_decision__requires_approval=True)
            ),
        )
        .order_by("category")
    )
    executions = (
        Execution.objects.filter(requested_at__gte=since_at)
        .values("category")
        .annotate(
            total=Count("id"),
            **{
                name: Count("id", filter=Q(state=state))
                for name, state in (
                    ("succeeded", ExecutionState.SUCCEEDED),
                    ("rolled_back", ExecutionState.ROLLED_BACK),
                    ("failed", ExecutionState.FAILED),
                    ("unknown", ExecutionState.UNKNOWN),
                    ("refused", ExecutionState.REFUSED),
                )
            },
        )
        .order_by("category")
    )
    per_t = _by_category(tickets, _ZERO_T)
    per_e = _by_category(executions, _ZERO_E)
    total_t = {k: sum(r[k] for r in per_t.values()) for k in _ZERO_T}
    total_e = {k: sum(r[k] for r in per_e.values()) for k in _ZERO_E}

    patterns = Pattern.objects.aggregate(
        eligible=Count("id", filter=Q(eligible_for_auto_remediation=True, enabled=True)),
        attempts=Sum("auto_remediation_attempts"),
        successes=Sum("auto_remediation_successes"),
    )
    by_operation = (
        ExecutionStep.objects.filter(execution__requested_at__gte=since_at, kind="action")
        .values("operation", "state")
        .annotate(n=Count("id"))
        .order_by("operation", "state")
    )
    return {
        "days": days,
        "since": since.isoformat(),
        **_metrics(total_t, total_e),
        "eligible_patterns": patterns["eligible"] or 0,
        "pattern_success_rate": _ratio(
            patterns["successes"] or 0, patterns["attempts"] or 0, RATE_DECIMALS
        ),
        "open_circuit_breakers": CircuitBreaker.objects.filter(is_open=True).count(),
        "actions_by_operation": [dict(row) for row in by_operation],
        "by_category": [
            {"category": c, **_metrics(per_t.get(c, _ZERO_T), per_e.get(c, _ZERO_E))}
            for c in sorted(set(per_t) | set(per_e))
        ],
    }


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
    success_rate = serializers.FloatField(allow_null=True, help_text="of concluded, 0-1")


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
        pattern_success_rate = serializers.FloatField(allow_null=True)
        open_circuit_breakers = serializers.IntegerField()
        actions_by_operation = _OperationCount(many=True)
        by_category = _Category(many=True)

    @extend_schema(
        operation_id="stats_auto_remediation",
        parameters=[FilterSerializer],
        responses={200: OutputSerializer, **error_responses(400, 401, 403)},
        summary="Auto-remediation execution, success and approval rates over the last N days",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        stats = auto_remediation_stats(days=filters.validated_data["days"])
        return Response(self.OutputSerializer(stats).data)
