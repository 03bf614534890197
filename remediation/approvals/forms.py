"""The decision form of the request page; the same rules as the API's body."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator

from config.api import contains_control_characters
from remediation.approvals.services import MAX_COMMENT
from remediation.catalogue.rules.digest import DIGEST_REGEX


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject"), ("not_now", "Not now")]
    )
    comment = forms.CharField(
        max_length=MAX_COMMENT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when rejecting: say why.",
    )
    actions_digest = forms.CharField(
        widget=forms.HiddenInput, validators=[RegexValidator(DIGEST_REGEX)]
    )
    # The confirmation step of a critical action: approving one needs this ticked (the
    # view asks for it when any action is critical_write).
    confirm_critical = forms.BooleanField(required=False)

    def clean_comment(self) -> str:
        comment: str = self.cleaned_data.get("comment", "")
        if contains_control_characters(comment):
            raise forms.ValidationError("Must not contain NUL bytes or control characters.")
        return comment

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        rejecting = cleaned.get("decision") in ("reject", "not_now")
        if rejecting and not (cleaned.get("comment") or "").strip():
            self.add_error("comment", "Say why you reject: a comment is required.")
        return cleaned


class QueueFilterForm(forms.Form):
    category = forms.CharField(max_length=50, required=False)
    risk = forms.ChoiceField(
        choices=[("", "any risk"), ("low", "low"), ("medium", "medium"), ("high", "high")],
        required=False,
    )

    def clean_category(self) -> str:
        value: str = self.cleaned_data.get("category", "")
        if contains_control_characters(value):
            raise forms.ValidationError("Not a category.")
        return value.strip().lower()
