"""Tickets in the admin: read-only, with their audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

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
