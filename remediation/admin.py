from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from policies.admin import AutoRemediationPolicyForm
from policies.models import AutoRemediationPolicy
from policies.whatif import FIXED_FIELDS
from remediation.catalogue import CATALOGUE, get_operation
from remediation.models import AuditEvent, Runbook, Ticket
from remediation.whatif import MAX_DAYS, policy_whatif

WHATIF_PERMISSIONS = ("policies.view_autoremediationpolicy", "remediation.view_ticket")


class WhatIfDaysForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=MAX_DAYS, initial=30)


class RunbookForm(forms.ModelForm):
    # A choice, not free text: a runbook naming an operation outside the catalogue could
    # never produce an action.
    operation = forms.ChoiceField(
        choices=[(key, f"{key} ({op.platform}, {op.action_type})") for key, op in CATALOGUE.items()]
    )

    class Meta:
        model = Runbook
        fields = (
            "name",
            "operation",
            "category",
            "symptoms",
            "resolution",
            "params",
            "source",
            "enabled",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        operation = get_operation(cleaned.get("operation"))
        params = cleaned.get("params")
        if operation is not None and params is not None:
            # The target comes from each ticket, so required params may be left out here.
            errors = operation.check_params(params, require_all=False)
            if errors:
                self.add_error("params", "; ".join(errors))
        return cleaned


@admin.register(Runbook)
class RunbookAdmin(admin.ModelAdmin):
    form = RunbookForm
    list_display = ("name", "operation", "category", "source", "enabled", "updated_at")
    list_filter = ("operation", "source", "enabled", "category")
    search_fields = ("name", "symptoms", "resolution", "operation")
    readonly_fields = ("learned_from", "created_at", "updated_at")
    list_editable = ("enabled",)
    ordering = ("name",)


class AuditEventInline(admin.TabularInline):
    model = AuditEvent
    fields = ("created_at", "actor_label", "action", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Tickets are read here, not edited: every change goes through the services, which
    write the audit trail (intake by the API, analysis by the worker, feedback...)."""

    list_display = (
        "ticket_id",
        "title",
        "category",
        "status",
        "outcome",
        "reliability_score",
        "auto_remediation_enabled",
        "submitted_by",
        "created_at",
    )
    list_filter = ("status", "outcome", "category", "severity", "auto_remediation_enabled")
    search_fields = ("ticket_id", "title", "description", "affected_system")
    date_hierarchy = "created_at"
    list_select_related = ("submitted_by",)
    inlines = [AuditEventInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Ticket._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        # The policy what-if reads tickets, which the policies app may not import, so its
        # page lives here; the policy's change page links to it by name.
        whatif = path(
            "policy-whatif/<int:policy_id>/",
            self.admin_site.admin_view(self.policy_whatif_view),
            name="remediation_policy_whatif",
        )
        return [whatif, *super().get_urls()]

    def policy_whatif_view(self, request: HttpRequest, policy_id: int) -> HttpResponse:
        """Read-only: a GET form of the policy's fields; the changed copy is never saved."""
        if not all(request.user.has_perm(p) for p in WHATIF_PERMISSIONS):
            raise PermissionDenied
        policy = get_object_or_404(AutoRemediationPolicy, pk=policy_id)
        report = None
        if "days" in request.GET:
            form = AutoRemediationPolicyForm(request.GET, instance=copy.copy(policy))
            days_form = WhatIfDaysForm(request.GET)
        else:
            form = AutoRemediationPolicyForm(instance=copy.copy(policy))
            days_form = WhatIfDaysForm()
        for name in FIXED_FIELDS:
            form.fields[name].disabled = True
        if form.is_bound and form.is_valid() and days_form.is_valid():
            report = policy_whatif(
                policy.category, form.instance, days=days_form.cleaned_data["days"]
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"What if: policy {policy.name}",
            "policy": policy,
            "form": form,
            "days_form": days_form,
            "report": report,
            "opts": AutoRemediationPolicy._meta,
        }
        return TemplateResponse(request, "admin/remediation/policy_whatif.html", context)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "action", "actor_label", "ticket", "message")
    list_filter = ("action", "actor_label")
    search_fields = ("message", "ticket__ticket_id")
    date_hierarchy = "created_at"
    list_select_related = ("ticket",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
