"""Executions (read-only) and circuit breakers (re-armed here) in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from remediation.execution.models import CircuitBreaker, Execution, ExecutionStep
from remediation.execution.services import breaker_rearm


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
