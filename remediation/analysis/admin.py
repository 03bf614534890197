"""Runbooks in the admin: written by admins, or learned from feedback and reviewed here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from remediation.analysis.models import Runbook, RunbookSource
from remediation.analysis.rules.vocabulary import CAUSE_BY_KEY
from remediation.audit.admin import AuditedAdminMixin
from remediation.catalogue.rules.operations import CATALOGUE, get_operation


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
