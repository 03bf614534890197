"""Chat and webhook channels in the admin: which room hears what, for which policies
(audited like every configuration change), and a test message to check the URL."""

from __future__ import annotations

import os
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.secrets import reserved_env_problem
from remediation.audit.admin import AuditedAdminMixin
from remediation.notifications.channels import Message, send
from remediation.notifications.models import NotificationChannel


@admin.register(NotificationChannel)
class NotificationChannelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "url_env", "configured", "on_approval_needed", "on_problem", "enabled")
    list_filter = ("enabled", "on_approval_needed", "on_problem")
    filter_horizontal = ("policies",)
    actions = ["send_test"]

    @admin.display(boolean=True, description="URL set in the environment")
    def configured(self, obj: NotificationChannel) -> bool:
        if reserved_env_problem(obj.url_env):
            return False
        return bool(os.environ.get(obj.url_env, "").strip())

    @admin.action(description="Send a test message")
    def send_test(self, request: HttpRequest, queryset: QuerySet[NotificationChannel]) -> None:
        test = Message(
            subject="[Auto-remediation] Test message",
            text="This channel is connected to the auto-remediation system.",
            html="<p>This channel is connected to the auto-remediation system.</p>",
        )
        for channel in queryset:
            result = send(channel, test)
            level = messages.SUCCESS if result == "sent" else messages.ERROR
            self.message_user(request, f"{channel.name}: {result}", level)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"url_env": "NOTIFY_"}
