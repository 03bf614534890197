"""Ticket endpoints: one class per operation, thin over services and selectors."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import Pagination, SafeCharField, StrictInputMixin, error_responses
from remediation import access, selectors, services
from remediation.models import Severity, Ticket, TicketStatus

TICKET_ID_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"
CATEGORY_REGEX = r"^[a-z0-9][a-z0-9_\-]{0,49}$"
SYSTEM_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._:/@\-]{0,199}$"
MAX_TITLE = 200
MAX_DESCRIPTION = 20_000


class SuggestedActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    system = serializers.CharField()
    operation = serializers.CharField()
    platform = serializers.CharField()
    params = serializers.DictField()
    action_type = serializers.CharField()
    rollback = serializers.CharField()


class TicketOutputSerializer(serializers.ModelSerializer):
    suggested_actions = SuggestedActionSerializer(many=True)
    reliability_breakdown = serializers.DictField(allow_null=True)
    remediation_decision = serializers.DictField(allow_null=True)
    remediation_results = serializers.DictField(allow_null=True)
    dropped_actions = serializers.ListField(child=serializers.CharField())
    pattern: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="hash", read_only=True, allow_null=True
    )
    submitted_by = serializers.CharField(source="submitted_by.get_username")

    class Meta:
        model = Ticket
        fields = [
            "ticket_id",
            "title",
            "description",
            "category",
            "affected_system",
            "severity",
            "source",
            "status",
            "status_reason",
            "outcome",
            "resolution",
            "suggested_actions",
            "dropped_actions",
            "confidence_score",
            "reliability_score",
            "reliability_breakdown",
            "auto_remediation_enabled",
            "auto_remediation_executed",
            "remediation_decision",
            "remediation_results",
            "pattern",
            "submitted_by",
            "created_at",
            "updated_at",
            "resolved_at",
        ]
        read_only_fields = fields


class TicketListCreateApi(APIView):
    class InputSerializer(StrictInputMixin, serializers.Serializer):
        ticket_id = SafeCharField(
            max_length=64,
            help_text="Your ticket system's id; unique. Letters, digits, . _ : -",
        )
        title = SafeCharField(max_length=MAX_TITLE)
        description = SafeCharField(max_length=MAX_DESCRIPTION, multiline=True)
        category = SafeCharField(max_length=50, help_text="e.g. server, network, cache, storage")
        enable_auto_remediation = serializers.BooleanField(
            default=False, help_text="Opt-in per ticket; off by default."
        )
        affected_system = SafeCharField(max_length=200, required=False, allow_blank=True)
        severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MEDIUM)
        # A declared field, moved out of the class by DRF's metaclass: no clash with Field.source.
        source = SafeCharField(max_length=64, required=False, allow_blank=True)  # type: ignore[assignment]

        def validate_ticket_id(self, value: str) -> str:
            return _match(value, TICKET_ID_REGEX, "Use 1-64 letters, digits, '.', '_', ':' or '-'.")

        def validate_category(self, value: str) -> str:
            return _match(
                value.lower(), CATEGORY_REGEX, "Use 1-50 lowercase letters, digits, '_' or '-'."
            )

        def validate_affected_system(self, value: str) -> str:
            if value == "":
                return value
            return _match(value, SYSTEM_REGEX, "Not a system name (letters, digits, . _ : / @ -).")

        def validate_enable_auto_remediation(self, value: bool) -> bool:
            # BooleanField also takes "yes", 1, "on": an opt-in to writes must be a real bool.
            raw = self.initial_data.get("enable_auto_remediation")
            if raw is not None and not isinstance(raw, bool):
                raise serializers.ValidationError("Must be true or false (a JSON boolean).")
            return value

    class FilterSerializer(StrictInputMixin, serializers.Serializer):
        status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
        category = SafeCharField(max_length=50, required=False)
        page = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
        page_size = serializers.IntegerField(min_value=1, max_value=200, required=False)

    @extend_schema(
        operation_id="tickets_create",
        request=InputSerializer,
        responses={201: TicketOutputSerializer, **error_responses(400, 401, 403, 409)},
        summary="Submit a ticket; its analysis runs in the background",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        ticket = services.ticket_create(
            services.TicketInput(
                ticket_id=data["ticket_id"],
                title=data["title"],
                description=data["description"],
                category=data["category"],
                enable_auto_remediation=data["enable_auto_remediation"],
                affected_system=data.get("affected_system", ""),
                severity=data["severity"],
                source=data.get("source") or "api",
            ),
            acting_user=request.user,  # type: ignore[arg-type]
        )
        ticket = selectors.ticket_get(ticket.pk)
        return Response(TicketOutputSerializer(ticket).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="tickets_list",
        parameters=[
            OpenApiParameter("status", str, enum=TicketStatus.values),
            OpenApiParameter("category", str, pattern=CATEGORY_REGEX),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: TicketOutputSerializer(many=True), **error_responses(400, 401, 403, 404)},
        summary="List the tickets you may see, newest first",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        tickets = selectors.ticket_list(
            access.visible_tickets(request.user),
            status=filters.validated_data.get("status"),
            category=filters.validated_data.get("category"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(tickets, request, view=self)
        data = TicketOutputSerializer(page, many=True).data
        return paginator.get_paginated_response(data)


class TicketDetailApi(APIView):
    @extend_schema(
        operation_id="tickets_retrieve",
        responses={200: TicketOutputSerializer, **error_responses(401, 403, 404)},
        summary="A ticket with its analysis, reliability and decision",
    )
    def get(self, request: Request, ticket_id: str) -> Response:
        ticket = access.ticket_for_user(request.user, ticket_id)
        return Response(TicketOutputSerializer(ticket).data)


def _match(value: str, pattern: str, message: str) -> str:
    if not re.fullmatch(pattern, value):
        raise serializers.ValidationError(message)
    return value
