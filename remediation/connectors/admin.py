"""Connectors in the admin: which MCP server acts for each platform."""

from __future__ import annotations

from django.contrib import admin

from remediation.audit.admin import AuditedAdminMixin
from remediation.connectors.models import PlatformConnector


@admin.register(PlatformConnector)
class PlatformConnectorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Which MCP server acts for each platform. The model's clean() validates the tool map,
    arguments, environment and credential variable. Every add, change and delete is written
    to the hash-chained audit trail (``config.changed``) with each changed field."""

    list_display = ("platform", "name", "transport", "simulated", "enabled", "timeout_seconds")
    list_filter = ("transport", "simulated", "enabled")
    readonly_fields = ("updated_at",)
