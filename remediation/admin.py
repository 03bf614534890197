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
from remediation.admin_audit import AuditedAdminMixin, audit_admin_changes
from remediation.analysis.vocabulary import CAUSE_BY_KEY
from remediation.catalogue import CATALOGUE, get_operation
from remediation.execution.services import breaker_rearm
from remediation.models import (
    AuditEvent,
    CircuitBreaker,
    Execution,
    ExecutionStep,
    PlatformConnector,
    Runbook,
    RunbookSource,
    Ticket,
)
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
            "fixes_causes",
            "not_for_causes",
            "source",
            "enabled",
        )

    def _clean_causes(self, field: str) -> str:
        value = self.cleaned_data.get(field) or ""
        keys = [line.strip() for line in value.splitlines() if line.strip()]
        unknown = [k for k in keys if k not in CAUSE_BY_KEY]
        if unknown:
            raise forms.ValidationError(
                f"Unknown cause(s): {', '.join(unknown[:5])}. Known: {', '.join(CAUSE_BY_KEY)}"
            )
        return "\n".join(keys)

    def clean_fixes_causes(self) -> str:
        return self._clean_causes("fixes_causes")

    def clean_not_for_causes(self) -> str:
        return self._clean_causes("not_for_causes")

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
class RunbookAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Learned runbooks arrive here as disabled proposals (source "Learned from feedback",
    filter on it): their text came from a person's feedback, so review it, then enable.
    Enabling, like every edit here, is audited."""

    form = RunbookForm
    list_display = (
        "name",
        "operation",
        "category",
        "pattern",
        "source",
        "enabled",
        "teachers",
        "updated_at",
    )
    list_filter = ("enabled", "source", "operation", "category")
    search_fields = ("name", "symptoms", "resolution", "operation", "pattern__hash")
    readonly_fields = ("learned_from", "pattern", "taught_by", "created_at", "updated_at")
    list_editable = ("enabled",)
    list_select_related = ("pattern",)
    ordering = ("name",)

    @admin.display(description="taught by")
    def teachers(self, obj: Runbook) -> str:
        if obj.source != RunbookSource.FEEDBACK:
            return ""
        return ", ".join(u.get_username() for u in obj.taught_by.all())


# Policies are registered by their own app, which may not import the audit trail.
audit_admin_changes(AutoRemediationPolicy)


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


# The alert intake's admin lives with it; importing registers it.
from remediation.alerts import admin as alerts_admin  # noqa: E402, F401

# --- Connectors, executions, circuit breakers ----------------------------------------------


@admin.register(PlatformConnector)
class PlatformConnectorAdmin(admin.ModelAdmin):
    """Which MCP server acts for each platform. The model's clean() validates the tool map,
    arguments and environment."""

    list_display = ("platform", "name", "transport", "simulated", "enabled", "timeout_seconds")
    list_filter = ("transport", "simulated", "enabled")
    readonly_fields = ("updated_at",)


class ExecutionStepInline(admin.TabularInline):
    model = ExecutionStep
    fields = ("index", "kind", "operation", "target", "state", "error", "started_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("index",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    """Executions are read here: they change only through the execution service."""

    list_display = ("key", "state", "via", "simulated", "action_count", "claimed_at", "finished_at")
    list_filter = ("state", "via", "simulated", "category")
    search_fields = ("key", "ticket__ticket_id")
    inlines = [ExecutionStepInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Execution._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CircuitBreaker)
class CircuitBreakerAdmin(admin.ModelAdmin):
    list_display = ("target", "pattern", "is_open", "opened_at", "rearmed_at", "rearmed_by")
    list_filter = ("is_open",)
    actions = ["rearm"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in CircuitBreaker._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Re-arm: allow automatic execution again")
    def rearm(self, request: HttpRequest, queryset: Any) -> None:
        count = 0
        for breaker in queryset.filter(is_open=True):
            breaker_rearm(breaker, acting_user=request.user)  # type: ignore[arg-type]
            count += 1
        self.message_user(request, f"Re-armed {count} circuit breaker(s).")


# The approval flow's admin lives beside its models; importing it registers it.
from remediation.approvals import admin as approvals_admin  # noqa: E402, F401
