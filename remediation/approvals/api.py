"""POST /api/v1/tickets/{ticket_id}/approve-remediation (docs/approvals.md): thin over the
services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import SafeCharField, StrictBooleanField, StrictInputMixin, error_responses
from config.errors import ApplicationError, Forbidden
from policies.selectors import pause_dict, pause_in_force
from remediation.approvals import services
from remediation.approvals.access import may_approve_anything
from remediation.approvals.models import ApprovalChannel
from remediation.approvals.services import MAX_COMMENT
from remediation.catalogue.rules.digest import DIGEST_REGEX
from remediation.tickets.api import TICKET_ID_REGEX, PausedSerializer


class MayApprove(BasePermission):
    """Approvers only, checked before the body is read: others learn nothing (403)."""

    message = (
        "You may not approve remediation: you hold no approval permission and no policy "
        "lists you as an approver."
    )

    def has_permission(self, request: Any, view: Any) -> bool:
        return may_approve_anything(request.user)


class ApproveRemediationApi(APIView):
    permission_classes = [MayApprove]

    @extend_schema_serializer(component_name="ApproveRemediation")
    class InputSerializer(StrictInputMixin, serializers.Serializer):
        ticket_id = SafeCharField(
            max_length=64,
            regex=TICKET_ID_REGEX,
            regex_message="Use 1-64 letters, digits, '.', '_', ':' or '-'.",
            required=False,
            help_text="If given, must be the ticket of the URL.",
        )
        approve = StrictBooleanField(help_text="true approves, false rejects.")
        approver = SafeCharField(
            max_length=254,
            required=False,
            help_text="Your username or e-mail. The approver is always the authenticated "
            "user; naming anyone else is refused (403).",
        )
        comment = SafeCharField(
            max_length=MAX_COMMENT,
            multiline=True,
            required=False,
            allow_blank=True,
            help_text="Why; required when rejecting.",
        )
        not_now = StrictBooleanField(
            required=False,
            default=False,
            help_text="With approve=false: the fix may be right but not now (a freeze, a "
            "busy hour); the rejection then does not count against the incident pattern.",
        )
        actions_digest = SafeCharField(
            max_length=64,
            required=False,
            regex=DIGEST_REGEX,
            regex_message="Must be 64 lowercase hex characters.",
            help_text="The digest of the actions you reviewed (GET the ticket); if they "
            "changed since, the approval is refused (409).",
        )

    @extend_schema_serializer(component_name="ApprovalAnswer")
    class OutputSerializer(serializers.Serializer):
        ticket_id = serializers.CharField()
        approved = serializers.BooleanField(help_text="This answer: approval or rejection.")
        status = serializers.CharField(help_text="The ticket's status now.")
        request_status = serializers.CharField()
        approver = serializers.CharField()
        counted = serializers.BooleanField(help_text="False if you had approved these already.")
        approvals_given = serializers.IntegerField()
        approvals_required = serializers.IntegerField()
        execution_requested = serializers.BooleanField(
            help_text="True when this was the last needed approval and execution started."
        )
        actions_digest = serializers.CharField()
        message = serializers.CharField(
            help_text="What happened, in words; while paused, why the approval waits."
        )
        paused = PausedSerializer(
            allow_null=True,
            help_text="The pause holding the ticket: the request stays pending (approvals "
            "kept, no expiry) and runs when remediation resumes; null when none.",
        )

    @extend_schema(
        operation_id="tickets_approve_remediation",
        request=InputSerializer,
        responses={200: OutputSerializer, **error_responses(400, 401, 403, 404, 409, 413)},
        summary="Approve or reject a ticket's remediation as the authenticated user",
    )
    def post(self, request: Request, ticket_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        if "ticket_id" in data and data["ticket_id"] != ticket_id:
            raise ApplicationError(
                "ticket_id: does not match the ticket in the URL.",
                code="validation_error",
                fields={"ticket_id": ["Does not match the ticket in the URL."]},
            )
        user = request.user
        named = data.get("approver")
        if named is not None and named.strip().lower() not in {
            user.get_username().lower(),
            (getattr(user, "email", "") or "").strip().lower() or user.get_username().lower(),
        }:
            raise Forbidden(
                "approver: you may only approve as yourself; the approver is the "
                "authenticated user.",
                code="wrong_approver",
                fields={"approver": ["Must name the authenticated user."]},
            )
        if data["approve"] and data.get("not_now"):
            raise ApplicationError(
                "not_now: only a rejection can be 'not now'; send approve=false.",
                code="validation_error",
                fields={"not_now": ["Only with approve=false."]},
            )
        if data["approve"]:
            result = services.approval_grant(
                ticket_id,
                acting_user=user,  # type: ignore[arg-type]
                comment=data.get("comment", ""),
                shown_digest=data.get("actions_digest"),
                via=ApprovalChannel.API,
            )
        else:
            result = services.approval_reject(
                ticket_id,
                acting_user=user,  # type: ignore[arg-type]
                comment=data.get("comment", ""),
                shown_digest=data.get("actions_digest"),
                via=ApprovalChannel.API,
                not_now=bool(data.get("not_now")),
            )
        return Response(
            self.OutputSerializer(
                {
                    "ticket_id": result.ticket.ticket_id,
                    "approved": result.approve,
                    "status": result.ticket.status,
                    "request_status": result.request.status,
                    "approver": user.get_username(),
                    "counted": result.counted,
                    "approvals_given": result.approvals_given,
                    "approvals_required": result.approvals_required,
                    "execution_requested": result.execution_requested,
                    "actions_digest": services.current_digest(result.ticket),
                    "message": result.message,
                    "paused": pause_dict(pause_in_force(result.ticket.category)),
                }
            ).data
        )
