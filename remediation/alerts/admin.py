"""Admin for alert intake: the label mappings are edited here; alerts and repeats are read."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from remediation.alerts.models import AlertMapping, AlertRecord
from remediation.tickets.models import TicketRepeat


@admin.register(AlertMapping)
class AlertMappingAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "priority",
        "enabled",
        "required_labels",
        "system_template",
        "default_category",
        "enable_auto_remediation",
    )
    list_editable = ("priority", "enabled")
    list_filter = ("enabled", "enable_auto_remediation")
    readonly_fields = ("updated_at",)


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the intake services (which audit); read here."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AlertRecord)
class AlertRecordAdmin(_ReadOnlyAdmin):
    list_display = ("key", "fingerprint", "status", "ticket", "deliveries", "starts_at")
    list_filter = ("status",)
    search_fields = ("key", "fingerprint", "ticket__ticket_id")
    list_select_related = ("ticket",)


@admin.register(TicketRepeat)
class TicketRepeatAdmin(_ReadOnlyAdmin):
    list_display = ("submitted_ticket_id", "ticket", "source", "reason", "received_at")
    list_filter = ("reason", "source")
    search_fields = ("submitted_ticket_id", "ticket__ticket_id")
    list_select_related = ("ticket",)
