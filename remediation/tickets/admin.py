"""Tickets in the admin: read-only, with their audit trail."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

from remediation.audit.models import AuditEvent
from remediation.tickets.models import Ticket


class AuditEventInline(admin.TabularInline):
    model = AuditEvent
    fields = ("created_at", "actor_label", "action", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _pretty(field: str) -> Any:
    """A JSON field of the ticket, indented in a <pre> instead of one raw line."""

    @admin.display(description=field.replace("_", " "))
    def shown(self: Any, obj: Ticket) -> str:
        value = getattr(obj, field)
        if value in (None, "", [], {}):
            return "—"
        return format_html(
            '<pre class="json" style="white-space: pre-wrap; margin: 0">{}</pre>',
            json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False),
        )

    return shown


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

    # Each JSON field shown indented (get_readonly_fields names these in its place).
    suggested_actions_shown = _pretty("suggested_actions")
    dropped_actions_shown = _pretty("dropped_actions")
    diagnosis_shown = _pretty("diagnosis")
    investigation_shown = _pretty("investigation")
    reliability_breakdown_shown = _pretty("reliability_breakdown")
    remediation_decision_shown = _pretty("remediation_decision")
    decision_facts_shown = _pretty("decision_facts")
    remediation_results_shown = _pretty("remediation_results")
    alert_labels_shown = _pretty("alert_labels")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            f"{f.name}_shown" if isinstance(f, models.JSONField) else f.name
            for f in Ticket._meta.fields
        ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_readonly_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only: no Save buttons. Viewing needs the view permission (staff with it).
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(
            user.has_perm("remediation.view_ticket") or user.has_perm("remediation.change_ticket")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
