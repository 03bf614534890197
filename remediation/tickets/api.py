"""Ticket endpoints: one class per operation, thin over services and selectors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    CATEGORY_REGEX,
    CachedFieldsMixin,
    CursorQuerySerializer,
    KeysetPagination,
    PageQuerySerializer,
    Pagination,
    SafeCharField,
    StrictBooleanField,
    StrictInputMixin,
    cursor_paginated,
    error_responses,
    paginated,
)
from config.throttling import IntakeThrottle
from policies.rules.category import normalize_category
from policies.selectors import pause_dict, pause_for, pauses_in_force
from remediation.audit.models import AuditEvent
from remediation.catalogue.rules.digest import actions_digest
from remediation.catalogue.rules.targets import canonical_affected
from remediation.tickets import access, selectors, services
from remediation.tickets.models import FixEvidence, Severity, Ticket, TicketStatus
from remediation.tickets.rules.ids import reserved_ticket_id
from remediation.tickets.selectors import alert_note

TICKET_ID_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"
# One object name; a single space only between a device and its interface ("sw-01 Gi0/1").
SYSTEM_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._:/@ \-]{0,199}$"
MAX_TITLE = 200
RESERVED_SOURCES = ("alertmanager",)
MAX_DESCRIPTION = 20_000


class PausedSerializer(serializers.Serializer):
    """The pause that holds a ticket now (its category's, or every category's)."""

    scope = serializers.CharField(help_text='"every category" or "category NAME".')
    category = serializers.CharField(allow_null=True, help_text="null: every category.")
    by = serializers.CharField(allow_null=True, help_text="Who paused.")
    at = serializers.DateTimeField(help_text="When.")
    reason = serializers.CharField(help_text="Why.")


def paused_of(ticket: Ticket, context: Any) -> dict[str, Any] | None:
    """The ``paused`` field of an answer about ``ticket``: the pauses are read once per
    answer (kept in the serializer's ``context``), however many tickets it lists."""
    if "pauses" not in context:
        context["pauses"] = pauses_in_force()
    found = pause_dict(pause_for(ticket.category, context["pauses"]))
    if found is not None:
        at = found["at"]
        found = {**found, "at": serializers.DateTimeField().to_representation(at)}  # type: ignore[arg-type]
    return found


class SuggestedActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    system = serializers.CharField()
    operation = serializers.CharField()
    platform = serializers.CharField()
    params = serializers.DictField()
    action_type = serializers.CharField()
    rollback = serializers.CharField()


class TicketOutputSerializer(CachedFieldsMixin, serializers.ModelSerializer):
    suggested_actions = SuggestedActionSerializer(many=True)
    reliability_breakdown = serializers.DictField(allow_null=True)
    remediation_decision = serializers.DictField(allow_null=True)
    diagnosis = serializers.DictField(
        allow_null=True,
        help_text="cause, cause_label, established, confidence, platform, symptoms, evidence "
        "(quoted from the ticket and from what was observed), ruled_out, alternatives, "
        "needs_human, needs_human_reason, basis (observed: the cause was seen on the system; "
        "words: only the ticket's words support it, so a person must approve; none)",
    )
    investigation = serializers.DictField(
        allow_null=True,
        help_text="What was looked at before the analysis, through read-only tools: status "
        "(complete, partial, failed, not_found, skipped), reason, started_at, duration_ms, "
        "subjects, objects (each with the tools' answers and errors) and calls (tool, "
        "arguments, when, how long, ok or error).",
    )
    remediation_results = serializers.DictField(allow_null=True)
    alert_labels = serializers.DictField(
        child=serializers.CharField(),
        help_text="The labels of the Alertmanager alert that opened the ticket, as received: "
        "the data the investigation reads an alert's objects from. Empty for a ticket from "
        "this API, whatever its description says.",
    )
    dropped_actions = serializers.ListField(child=serializers.CharField())
    pattern: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="hash", read_only=True, allow_null=True
    )
    submitted_by = serializers.CharField(source="submitted_by.get_username")
    alert_note = serializers.SerializerMethodField()
    fix_held_by = serializers.ChoiceField(
        choices=FixEvidence.choices,
        allow_blank=True,
        read_only=True,
        help_text="What confirmed the fix held: its alert resolved after the remediation, or "
        "nothing came back within the hold time; empty while nothing has.",
    )
    actions_digest = serializers.SerializerMethodField(
        help_text="Digest of suggested_actions; send it when approving to bind the approval "
        "to exactly these actions."
    )
    paused = serializers.SerializerMethodField(
        help_text="The pause that holds this ticket's category now (scope, category, by, at, "
        "reason), or null: nothing runs by itself while it holds; approvals wait."
    )

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
            "alert_labels",
            "status",
            "status_reason",
            "outcome",
            "resolution",
            "suggested_actions",
            "dropped_actions",
            "confidence_score",
            "diagnosis",
            "investigation",
            "reliability_score",
            "decided_reliability_score",
            "decided_probability",
            "decided_gate_reliability",
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
            "fix_held_at",
            "fix_held_by",
            "repeat_count",
            "last_repeat_at",
            "alert_resolved_at",
            "alert_note",
            "actions_digest",
            "paused",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_alert_note(self, ticket: Ticket) -> str | None:
        return alert_note(ticket)

    def get_actions_digest(self, ticket: Ticket) -> str:
        return actions_digest(ticket.suggested_actions or [])

    @extend_schema_field(PausedSerializer(allow_null=True))
    def get_paused(self, ticket: Ticket) -> dict[str, Any] | None:
        return paused_of(ticket, self.context)


class JoinedTicketOutputSerializer(serializers.Serializer):
    """The answer when storm control joined a submission to an open ticket."""

    joined = serializers.BooleanField()
    requested_ticket_id = serializers.CharField()
    ticket_id = serializers.CharField(help_text="The ticket this submission joined.")
    repeat_count = serializers.IntegerField()
    ticket = TicketOutputSerializer(
        allow_null=True, help_text="That ticket, when you may see it (else null)."
    )


class TicketInputSerializer(StrictInputMixin, serializers.Serializer):
    """A ticket as submitted: by an integration through the API, or built from an alert
    by the Alertmanager intake (which validates it the same way)."""

    ticket_id = SafeCharField(
        max_length=64,
        regex=TICKET_ID_REGEX,
        regex_message="Use 1-64 letters, digits, '.', '_', ':' or '-'.",
        help_text="Your ticket system's id; unique. Letters, digits, . _ : -",
    )
    title = SafeCharField(max_length=MAX_TITLE)
    description = SafeCharField(max_length=MAX_DESCRIPTION, multiline=True)
    category = SafeCharField(
        max_length=50,
        regex=CATEGORY_REGEX,
        regex_message="Use 1-50 letters, digits, '_' or '-'.",
        help_text="e.g. server, network, cache, storage (stored in lowercase)",
    )
    enable_auto_remediation = StrictBooleanField(
        default=False, help_text="Opt-in per ticket; off by default."
    )
    affected_system = SafeCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        regex=SYSTEM_REGEX,
        regex_message="Not a system name (letters, digits, . _ : / @ -; a space only "
        "between a device and its interface).",
    )
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MEDIUM)
    # A declared field, moved out of the class by DRF's metaclass: no clash with Field.source.
    source = SafeCharField(max_length=64, required=False, allow_blank=True)  # type: ignore[assignment]

    def validate_category(self, value: str) -> str:
        return normalize_category(value)

    def validate_affected_system(self, value: str) -> str:
        canonical, refusal = canonical_affected(value)
        if refusal:
            raise serializers.ValidationError(refusal)
        return canonical


class TicketListCreateApi(APIView):
    class FilterSerializer(StrictInputMixin, CursorQuerySerializer):
        status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
        category = SafeCharField(max_length=50, required=False, regex=CATEGORY_REGEX)

    def get_throttles(self) -> list[Any]:
        # Intake is throttled per identity; reading the list is not.
        return [IntakeThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        operation_id="tickets_create",
        request=TicketInputSerializer,
        responses={
            201: TicketOutputSerializer,
            200: JoinedTicketOutputSerializer,
            **error_responses(400, 401, 403, 409, 413, 429),
        },
        summary="Submit a ticket; its analysis runs in the background",
        description=(
            "201: a new ticket. 200: storm control joined it to an open ticket with the same "
            "pattern and affected system (`ticket_id` names that ticket; its repeat_count "
            "went up); nothing new is analyzed or executed. 409: this ticket_id was used."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = TicketInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        reserved = reserved_ticket_id(data["ticket_id"])
        if reserved:
            # Refused before anything is looked up: the answer is the same whether an
            # alert's ticket with that id exists or not.
            raise serializers.ValidationError({"ticket_id": [reserved]})
        if (data.get("source") or "").strip().lower() in RESERVED_SOURCES:
            # Alert tickets are made by the Alertmanager intake, which records each alert;
            # a ticket claiming that source here would pass for one.
            raise serializers.ValidationError(
                {"source": ["Reserved for the Alertmanager intake (POST /api/v1/alerts/...)."]}
            )
        intake = services.ticket_create(
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
        if intake.joined:
            # Storm control joined it to an open ticket: that one, as stored now.
            ticket = selectors.ticket_get(intake.ticket.pk)
            visible = access.can_see_all_tickets(request.user) or (
                ticket.submitted_by_id == request.user.pk
            )
            joined = {
                "joined": True,
                "requested_ticket_id": data["ticket_id"],
                "ticket_id": ticket.ticket_id,
                "repeat_count": ticket.repeat_count,
                "ticket": ticket if visible else None,
            }
            return Response(JoinedTicketOutputSerializer(joined).data, status=status.HTTP_200_OK)
        # The instance holds what was stored (its submitter is the caller, no pattern yet):
        # no need to read it back. The pause in force was read by the statement that
        # inserted it, when it was (PostgreSQL); else the answer reads it.
        context = {} if intake.pauses is None else {"pauses": intake.pauses}
        answer = TicketOutputSerializer(intake.ticket, context=context).data
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="tickets_list",
        parameters=[FilterSerializer],
        responses={
            200: cursor_paginated(TicketOutputSerializer, "PaginatedTicketList"),
            **error_responses(400, 401, 403, 404),
        },
        summary="List the tickets you may see, newest first, a page at a time by cursor",
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        tickets = selectors.ticket_list(
            access.visible_tickets(request.user),
            status=filters.validated_data.get("status"),
            category=filters.validated_data.get("category"),
        )
        paginator = KeysetPagination()
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


class AuditEventOutputSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    details = serializers.DictField()

    class Meta:
        model = AuditEvent
        fields = ["created_at", "action", "actor", "message", "details"]
        read_only_fields = fields


class TicketLogsApi(APIView):
    class FilterSerializer(StrictInputMixin, PageQuerySerializer):
        pass

    @extend_schema(
        operation_id="tickets_remediation_logs",
        parameters=[FilterSerializer],
        responses={
            200: paginated(AuditEventOutputSerializer, "PaginatedAuditEventList"),
            **error_responses(400, 401, 403, 404),
        },
        summary="The ticket's audit trail, oldest first",
    )
    def get(self, request: Request, ticket_id: str) -> Response:
        self.FilterSerializer(data=request.query_params.dict()).is_valid(raise_exception=True)
        ticket = access.ticket_for_user(request.user, ticket_id)
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.ticket_audit_trail(ticket), request, view=self)
        return paginator.get_paginated_response(AuditEventOutputSerializer(page, many=True).data)
