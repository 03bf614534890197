"""The review queue's API: GET /api/v1/reviews, POST /api/v1/reviews/{ticket_id}/take,
/run and /close. A hand fix is recorded with POST /api/v1/feedback (trusted feedback with
``actual_actions_taken``), the same service the review page uses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    PageQuerySerializer,
    Pagination,
    SafeCharField,
    StrictInputMixin,
    error_responses,
    paginated,
)
from feedback.reviews import access, selectors, services
from policies.models import AutoRemediationPolicy, RemediationPause
from policies.selectors import pause_dict, pause_for, pauses_in_force
from remediation.approvals.access import may_approve_anything
from remediation.tickets.api import PausedSerializer
from remediation.tickets.models import Ticket


class MayReview(BasePermission):
    message = "This needs staff, feedback.teach or remediation.approve_remediation."

    def has_permission(self, request: Request, view: Any) -> bool:
        return access.may_review(request.user)


class ReviewSerializer(serializers.Serializer):
    ticket_id = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField()
    why = serializers.CharField(help_text="Why it waits for a person.")
    assignee = serializers.CharField(allow_null=True, help_text="Who took it, if anyone.")
    taken_at = serializers.DateTimeField(allow_null=True)
    can_run = serializers.BooleanField(
        help_text="Its proposal can be run from the queue, by you (only approvers start a run)."
    )
    proposed = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    paused = PausedSerializer(allow_null=True, help_text="The pause holding it, or null.")


def review_row(
    ticket: Ticket,
    policies: dict[str, AutoRemediationPolicy | None] | None = None,
    *,
    may_run: bool = True,
    pauses: list[RemediationPause] | None = None,
) -> dict[str, Any]:
    review = getattr(ticket, "review", None)
    pause = pause_for(ticket.category, pauses_in_force() if pauses is None else pauses)
    return {
        "paused": pause_dict(pause),
        "ticket_id": ticket.ticket_id,
        "title": ticket.title,
        "category": ticket.category,
        "status": ticket.status,
        "outcome": ticket.outcome,
        "why": selectors.why(ticket),
        "assignee": review.assignee.get_username() if review and review.assignee else None,
        "taken_at": review.taken_at if review else None,
        "can_run": may_run and selectors.can_run(ticket, policies) is None,
        "proposed": [
            f"{a.get('operation')} on {a.get('system')}"
            for a in ticket.suggested_actions or []
            if isinstance(a, dict)
        ],
        "created_at": ticket.created_at,
    }


class ReviewListApi(APIView):
    permission_classes = [MayReview]

    class FilterSerializer(StrictInputMixin, PageQuerySerializer):
        pass

    @extend_schema(
        operation_id="reviews_list",
        parameters=[FilterSerializer],
        responses={
            200: paginated(ReviewSerializer, "PaginatedReviewList"),
            **error_responses(400, 401, 403, 404),
        },
        summary="The review queue: tickets waiting for a person, each with why",
    )
    def get(self, request: Request) -> Response:
        """The inbox's review kinds (``GET /api/v1/inbox?kind=review&kind=unknown_outcome``
        says the same with more)."""
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.review_queue(request.user), request, view=self)
        policies = selectors.policies_of(page or [])
        may_run = may_approve_anything(request.user)
        pauses = pauses_in_force()
        rows = [review_row(t, policies, may_run=may_run, pauses=pauses) for t in page or []]
        return paginator.get_paginated_response(ReviewSerializer(rows, many=True).data)


class CloseInputSerializer(StrictInputMixin, serializers.Serializer):
    reason = SafeCharField(max_length=services.MAX_REASON, multiline=True)


class ReviewActionSerializer(serializers.Serializer):
    ticket_id = serializers.CharField()
    message = serializers.CharField()
    review = ReviewSerializer()


def _answer(request: Request, ticket_id: str, message: str) -> Response:
    ticket = Ticket.objects.select_related("review__assignee").get(ticket_id=ticket_id)
    row = review_row(ticket, may_run=may_approve_anything(request.user))
    data = {"ticket_id": ticket_id, "message": message, "review": row}
    return Response(ReviewActionSerializer(data).data)


class ReviewTakeApi(APIView):
    permission_classes = [MayReview]

    @extend_schema(
        operation_id="reviews_take",
        request=None,
        responses={200: ReviewActionSerializer, **error_responses(401, 403, 404, 409)},
        summary="Take a ticket of the review queue (shown to everyone as its assignee)",
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        services.review_take(ticket_id, user=request.user)  # type: ignore[arg-type]
        return _answer(request, ticket_id, f"Taken by {request.user.get_username()}.")


class ReviewRunApi(APIView):
    permission_classes = [MayReview]

    @extend_schema(
        operation_id="reviews_run",
        request=None,
        responses={200: ReviewActionSerializer, **error_responses(401, 403, 404, 409)},
        summary="Run the ticket's proposal under a person's decision (the approval rules hold)",
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        result = services.review_run(ticket_id, user=request.user)  # type: ignore[arg-type]
        return _answer(request, ticket_id, result.message)


class ReviewCloseApi(APIView):
    permission_classes = [MayReview]

    @extend_schema(
        operation_id="reviews_close",
        request=CloseInputSerializer,
        responses={200: ReviewActionSerializer, **error_responses(400, 401, 403, 404, 409)},
        summary="Close a ticket's review with a reason (it leaves the queue)",
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        body = CloseInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.review_close(
            ticket_id,
            user=request.user,  # type: ignore[arg-type]
            reason=body.validated_data["reason"],
        )
        return _answer(request, ticket_id, "Closed.")
