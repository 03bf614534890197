"""The inbox page's filters: the same names and checks as the API's query."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

from feedback.inbox.rules import KINDS
from policies.rules.category import CATEGORY_PATTERN


class InboxFilterForm(forms.Form):
    kind = forms.MultipleChoiceField(
        required=False,
        choices=[(k.value, info.label) for k, info in KINDS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    category = forms.CharField(
        required=False,
        max_length=50,
        validators=[RegexValidator(r"^$|" + CATEGORY_PATTERN, "Not a category.")],
    )
    owner = forms.CharField(
        required=False,
        max_length=100,
        help_text='"me", a team name, or "nobody".',
        validators=[RegexValidator(r"^[^\x00-\x1f\x7f]*$", "No control characters.")],
    )
