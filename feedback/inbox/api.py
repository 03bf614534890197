"""GET /api/v1/inbox: every ticket the caller must act on (the inbox page's list), paginated,
filtered by kind, category and owner."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    CATEGORY_REGEX,
    PageQuerySerializer,
    Pagination,
    SafeCharField,
    StrictInputMixin,
    error_responses,
    paginated,
)
from feedback.inbox import selectors
from feedback.inbox.rules import KINDS, Kind
from remediation.tickets.api import PausedSerializer


class InboxItemSerializer(serializers.Serializer):
    ticket_id = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField()
    kind = serializers.ChoiceField(choices=[k.value for k in Kind])
    kind_label = serializers.CharField()
    why = serializers.CharField(help_text="Why a person must act.")
    owner = serializers.CharField(help_text="Who owns it: a person, a team, or nobody.")
    owner_kind = serializers.ChoiceField(choices=["person", "team", "approvers", "nobody"])
    mine = serializers.BooleanField(help_text="Of one of your teams, or taken by you.")
    age_seconds = serializers.IntegerField(help_text="Since it waits (the request opened).")
    action = serializers.CharField(help_text="The one thing to do.")
    action_url = serializers.CharField(help_text="The page where it is done.")
    minutes_left = serializers.IntegerField(
        allow_null=True, help_text="Approvals: minutes before it expires (null while paused)."
    )
    approvals_given = serializers.IntegerField(allow_null=True)
    approvals_required = serializers.IntegerField(allow_null=True)
    paused = PausedSerializer(allow_null=True, help_text="The pause holding it, or null.")
    created_at = serializers.DateTimeField()


def item_row(item: selectors.Item) -> dict[str, Any]:
    ticket = item.ticket
    return {
        "ticket_id": ticket.ticket_id,
        "title": ticket.title,
        "category": ticket.category,
        "status": ticket.status,
        "outcome": ticket.outcome,
        "kind": item.kind,
        "kind_label": item.kind_label,
        "why": item.why,
        "owner": item.owner,
        "owner_kind": item.owner_kind,
        "mine": item.mine,
        "age_seconds": item.age_seconds,
        "action": item.action,
        "action_url": item.action_url,
        "minutes_left": item.minutes_left,
        "approvals_given": item.approvals_given,
        "approvals_required": item.approvals_required,
        "paused": item.paused,
        "created_at": ticket.created_at,
    }


class InboxQuerySerializer(StrictInputMixin, PageQuerySerializer):
    kind = serializers.ListField(
        child=serializers.ChoiceField(choices=[k.value for k in Kind]),
        required=False,
        help_text="Repeat to ask for several: "
        + ", ".join(f"{k.value} ({KINDS[k].label})" for k in Kind),
    )
    category = serializers.RegexField(CATEGORY_REGEX, max_length=50, required=False)
    owner = SafeCharField(
        max_length=100,
        required=False,
        help_text='"me" (your teams\' and what you took), a team\'s name, or "nobody".',
    )


class InboxApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="inbox_list",
        parameters=[InboxQuerySerializer],
        responses={
            200: paginated(InboxItemSerializer, "PaginatedInboxList"),
            **error_responses(400, 401, 404),
        },
        summary="Everything you must act on: approvals, reviews, unknown outcomes, tickets "
        "nobody will handle, tickets decided while paused; yours first, then oldest first",
    )
    def get(self, request: Request) -> Response:
        query = {k: v for k, v in request.query_params.items() if k != "kind"}
        kinds = request.query_params.getlist("kind")
        if kinds:
            query["kind"] = kinds  # type: ignore[assignment]
        filters = InboxQuerySerializer(data=query)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        tickets = selectors.inbox(
            request.user,
            selectors.Filters(
                kinds=data.get("kind") or (),
                category=data.get("category") or "",
                owner=(data.get("owner") or "").strip(),
            ),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(tickets, request, view=self)
        rows = [item_row(i) for i in selectors.items(page or [])]
        return paginator.get_paginated_response(InboxItemSerializer(rows, many=True).data)
