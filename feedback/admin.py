"""Admin for feedback: read-only, because it is evidence."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from feedback.models import Feedback


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "user", "feedback_type", "rating", "created_at"]
    list_filter = ["feedback_type", "rating"]
    search_fields = ["ticket__ticket_id", "user__username", "comment"]
    list_select_related = ["ticket", "user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Feedback._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
