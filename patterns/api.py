"""GET /api/v1/patterns: what the system has learned, with every statistic and eligibility."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    CATEGORY_REGEX,
    PATTERN_STATS_PERMISSION,
    PageQuerySerializer,
    Pagination,
    SafeCharField,
    StrictInputMixin,
    error_responses,
    paginated,
    require_permission,
)
from patterns.models import Pattern
from patterns.selectors import pattern_list
from patterns.services import eligibility_unmet

MAX_MIN_OCCURRENCES = 1_000_000


class PatternListApi(APIView):
    # Draws on every user's tickets (key terms come from their text): approvers and admins
    # by default, an integration only when granted the permission.
    permission_classes = [require_permission(PATTERN_STATS_PERMISSION)]

    class FilterSerializer(StrictInputMixin, PageQuerySerializer):
        # A slug, as ticket categories are (server, network, cache, ...).
        category = SafeCharField(
            max_length=50,
            required=False,
            regex=CATEGORY_REGEX,
            regex_message="Must be a category: letters, digits, hyphens, underscores.",
        )
        min_occurrences = serializers.IntegerField(
            required=False, min_value=0, max_value=MAX_MIN_OCCURRENCES
        )

    @extend_schema_serializer(component_name="Pattern")
    class OutputSerializer(serializers.ModelSerializer):
        positive_outcome_rate = serializers.FloatField(
            read_only=True,
            allow_null=True,
            help_text="0-1: of the concluded tickets, the share that succeeded (the measured "
            "outcome when something ran, else a trusted person's verdict); what eligibility "
            "holds against PATTERN_MIN_POSITIVE_RATE. Null without a concluded ticket.",
        )
        positive_feedback_rate = serializers.FloatField(
            read_only=True, allow_null=True, help_text="0-1; null without feedback."
        )
        outcome_success_rate = serializers.FloatField(
            read_only=True,
            allow_null=True,
            help_text="Outcome success, 0-1: of the remediated tickets whose outcome "
            "concluded, the share whose fix held; what eligibility holds against "
            "PATTERN_MIN_SUCCESS_RATE. Null without any (formerly "
            "auto_remediation_success_rate, 0 then).",
        )
        shadow_agreement_rate = serializers.FloatField(
            read_only=True, allow_null=True, help_text="0-1; null without a verdict."
        )

        why_not_eligible = serializers.ListField(
            child=serializers.CharField(),
            read_only=True,
            help_text="Every unmet eligibility condition, in words, at the current "
            "thresholds; empty when the pattern is eligible.",
        )

        def to_representation(self, instance: Pattern) -> dict[str, Any]:
            data = super().to_representation(instance)
            data.update(instance.shown_rates())  # no data is null, never 0
            data["why_not_eligible"] = eligibility_unmet(instance)
            return data

        class Meta:
            model = Pattern
            fields = [
                "hash",
                "category",
                "key_terms",
                "occurrence_count",
                "success_count",
                "failure_count",
                "positive_feedback_count",
                "negative_feedback_count",
                "neutral_feedback_count",
                "positive_feedback_rate",
                "positive_outcome_rate",
                "avg_confidence_score",
                "avg_reliability_score",
                "auto_remediation_attempts",
                "outcome_success_rate",
                "rejection_count",
                "shadow_agreement_count",
                "shadow_disagreement_count",
                "shadow_agreement_rate",
                "eligible_for_auto_remediation",
                "why_not_eligible",
                "enabled",
                "first_seen_at",
                "last_seen_at",
                "eligibility_changed_at",
            ]
            read_only_fields = fields

    @extend_schema(
        operation_id="patterns_list",
        summary="Learned patterns with their statistics and eligibility",
        parameters=[FilterSerializer],
        responses={
            200: paginated(OutputSerializer, "PaginatedPatternList"),
            **error_responses(400, 401, 403, 404),
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        qs = pattern_list(
            category=filters.validated_data.get("category"),
            min_occurrences=filters.validated_data.get("min_occurrences"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
