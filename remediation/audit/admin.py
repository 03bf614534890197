"""Configuration changes made in the admin are audited: who changed what, from what to what.

Apply to any ModelAdmin by inheriting (the policies' admin does, too)::

    class ConnectorAdmin(AuditedAdminMixin, admin.ModelAdmin): ...

Each add, change (the form or the changelist's inline editing) and delete writes one
``AuditEvent(action=CONFIG_CHANGED)`` whose details name the model, the object and every
changed field as ``[old, new]``. The admin runs these views in a transaction, and the
event is written inside it, so a change and its record commit or roll back together.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from remediation.audit.models import AuditAction, AuditEvent
from remediation.audit.services import audit

# Values longer than this are cut in the audit record (the whole text stays on the object).
MAX_VALUE_CHARS = 2_000


def snapshot(obj: models.Model) -> dict[str, str]:
    """Every concrete field of ``obj`` as the text the admin would show or serialize."""
    values: dict[str, str] = {}
    for field in obj._meta.concrete_fields:
        if field.name in ("created_at", "updated_at"):
            continue
        text = field.value_to_string(obj)
        values[field.name] = text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"
    return values


def _diff(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str | None]]:
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def audit_config_change(
    request: HttpRequest,
    obj: models.Model,
    *,
    verb: str,
    changes: dict[str, list[str | None]],
) -> None:
    label = obj._meta.label
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    audit(
        AuditAction.CONFIG_CHANGED,
        f"{str(obj._meta.verbose_name).capitalize()} {str(obj)[:120]!r} {verb}"
        + (f": {', '.join(changes)}" if changes and verb == "changed" else ""),
        acting_user=user,  # type: ignore[arg-type]
        details={
            "model": label,
            "object_id": str(obj.pk),
            "object": str(obj)[:200],
            "verb": verb,
            "changes": changes,
        },
    )


class AuditedAdminMixin:
    """Put before ``admin.ModelAdmin`` in the bases."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            before: dict[str, str] = {}
            if change and obj.pk is not None:
                stored = type(obj)._default_manager.filter(pk=obj.pk).first()
                before = snapshot(stored) if stored is not None else {}
            super().save_model(request, obj, form, change)  # type: ignore[misc]
            changes = _diff(before, snapshot(obj))
            if change and not changes:
                return
            audit_config_change(
                request, obj, verb="changed" if change else "added", changes=changes
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit_config_change(request, obj, verb="deleted", changes=_diff(snapshot(obj), {}))
            super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                audit_config_change(request, obj, verb="deleted", changes=_diff(snapshot(obj), {}))
            super().delete_queryset(request, queryset)  # type: ignore[misc]


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
