"""Approval requests in the admin: read-only evidence, plus approve/reject actions that
call the same services as the API and the pages (never a second path)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from config.api import contains_control_characters
from config.errors import ApplicationError
from remediation.approvals import services
from remediation.approvals.models import (
    ApprovalChannel,
    ApprovalDecision,
    ApprovalRequest,
    RejectedOperation,
    SlackUserLink,
)
from remediation.audit.admin import AuditedAdminMixin
from remediation.catalogue.rules.digest import actions_digest

DIGEST = re.compile(r"^[0-9a-f]{64}$")


class DecisionInline(admin.TabularInline):
    model = ApprovalDecision
    fields = ("created_at", "approver", "approve", "via", "comment", "actions_digest")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CommentForm(forms.Form):
    comment = forms.CharField(
        max_length=services.MAX_COMMENT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_comment(self) -> str:
        value: str = self.cleaned_data.get("comment", "")
        if contains_control_characters(value):
            raise forms.ValidationError("Must not contain control characters.")
        return value


def _decide(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, approve: bool
) -> HttpResponse | None:
    form = CommentForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        call = services.approval_grant if approve else services.approval_reject
        for req in queryset.select_related("ticket"):
            # The decision binds to the actions this page showed (their digest, one per
            # request): actions changed since are refused, as on the approval page.
            shown = request.POST.get(f"digest_{req.pk}", "")
            if not DIGEST.fullmatch(shown):
                modeladmin.message_user(
                    request,
                    f"{req.ticket.ticket_id}: the page did not say which actions you decided "
                    "on; select it and run the action again",
                    messages.ERROR,
                )
                continue
            try:
                result = call(
                    req.ticket.ticket_id,
                    acting_user=request.user,  # type: ignore[arg-type]
                    comment=form.cleaned_data["comment"],
                    shown_digest=shown,
                    via=ApprovalChannel.ADMIN,
                )
            except ApplicationError as exc:
                modeladmin.message_user(
                    request, f"{req.ticket.ticket_id}: {exc.message}", messages.ERROR
                )
            else:
                modeladmin.message_user(
                    request, f"{req.ticket.ticket_id}: {result.message}", messages.SUCCESS
                )
        return None
    return TemplateResponse(
        request,
        "admin/approvals/decide.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Approve the selected requests" if approve else "Reject the selected requests",
            "approve": approve,
            "queryset": queryset,
            "shown": [
                {
                    "req": req,
                    "digest": actions_digest(req.ticket.suggested_actions or []),
                    "actions": [
                        f"{a.get('operation')} on {a.get('system')} "
                        f"({', '.join(f'{k}={v}' for k, v in (a.get('params') or {}).items())})"
                        for a in req.ticket.suggested_actions or []
                        if isinstance(a, dict)
                    ],
                }
                for req in queryset.select_related("ticket")
            ],
            "form": form,
            "action": "approve_selected" if approve else "reject_selected",
            "opts": modeladmin.model._meta,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        },
    )


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = (
        "ticket",
        "status",
        "required_approvals",
        "policy_name",
        "opened_at",
        "expires_at",
        "decided_at",
    )
    list_filter = ("status", "policy_name", "ticket__category")
    search_fields = ("ticket__ticket_id", "ticket__title", "decided_reason")
    list_select_related = ("ticket",)
    date_hierarchy = "opened_at"
    inlines = [DecisionInline]
    actions = ["approve_selected", "reject_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in ApprovalRequest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Approve the selected requests (as you)")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return _decide(self, request, queryset, approve=True)

    @admin.action(description="Reject the selected requests (as you, with a comment)")
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return _decide(self, request, queryset, approve=False)


@admin.register(RejectedOperation)
class RejectedOperationAdmin(admin.ModelAdmin):
    list_display = ("pattern", "operation", "rejection_count", "last_rejected_at")
    list_filter = ("operation",)
    search_fields = ("operation", "pattern__hash")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in RejectedOperation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SlackUserLink)
class SlackUserLinkAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Which project user each Slack user is when they click Approve or Reject in Slack.
    Kept by an admin; a Slack user with no link is refused (and the refusal audited)."""

    list_display = ("team_id", "slack_user_id", "user", "created_at")
    search_fields = ("slack_user_id", "user__username")
    autocomplete_fields = ("user",)
