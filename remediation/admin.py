from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from remediation.catalogue import CATALOGUE, get_operation
from remediation.models import Runbook


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
