"""A changed copy of a policy for a what-if, validated like the admin form, never saved.

The copy goes through ``AutoRemediationPolicyForm`` (the admin's form: the model's field
validators, ``clean()`` and the database constraints' checks), so ``--set`` accepts exactly
what the admin page accepts, and a bad value comes back naming its field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from policies.admin import AutoRemediationPolicyForm
from policies.models import AutoRemediationPolicy

FIXED_FIELDS = ("name", "category")  # what identifies the policy; a what-if keeps them
CHANGEABLE_FIELDS = tuple(f for f in AutoRemediationPolicyForm.Meta.fields if f not in FIXED_FIELDS)
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def base_policy(category: str) -> tuple[AutoRemediationPolicy, bool]:
    """The category's policy, or (no policy yet) an unsaved one with the model's defaults;
    the flag says whether it exists."""
    policy = AutoRemediationPolicy.objects.filter(category=category).first()
    if policy is not None:
        return policy, True
    return AutoRemediationPolicy(name=f"what-if {category}"[:100], category=category), False


def form_data(policy: AutoRemediationPolicy) -> dict[str, Any]:
    """The admin form's data for ``policy`` as it stands."""
    form = AutoRemediationPolicyForm(instance=policy)
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = field.prepare_value(form.initial.get(name))
        if isinstance(value, bool):
            value = "true" if value else "false"
        data[name] = "" if value is None else value
    return data


def _as_form_value(policy_field: str, raw: str, form: AutoRemediationPolicyForm) -> Any:
    field = form.fields[policy_field]
    if isinstance(field.widget, forms.CheckboxInput):
        lowered = raw.strip().lower()
        if lowered not in _TRUE + _FALSE:
            raise ValidationError({policy_field: [f"Not a boolean: {raw!r} (use true or false)."]})
        return "true" if lowered in _TRUE else "false"
    if isinstance(field, forms.MultipleChoiceField):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def policy_with_changes(
    base: AutoRemediationPolicy, changes: Mapping[str, str]
) -> AutoRemediationPolicy:
    """An unsaved copy of ``base`` with ``changes`` (field name -> text as typed) applied.

    Lists are comma-separated; an empty ``auto_approve_threshold`` means "never". Raises
    ``ValidationError`` naming every unknown field or refused value.
    """
    unknown = sorted(set(changes) - set(CHANGEABLE_FIELDS))
    known = ", ".join(CHANGEABLE_FIELDS)
    if unknown:
        raise ValidationError(
            {
                name: [f"Not a policy field a what-if can change. Known: {known}."]
                for name in unknown
            }
        )
    instance = copy.copy(base)
    form = AutoRemediationPolicyForm(instance=instance)
    data = form_data(base)
    for name, raw in changes.items():
        data[name] = _as_form_value(name, raw, form)
    # CheckboxInput reads "false" as False; an absent key would also be False.
    bound = AutoRemediationPolicyForm(data=data, instance=instance)
    if not bound.is_valid():
        raise ValidationError({k: list(v) for k, v in bound.errors.items()})
    return bound.instance  # not saved: the caller only reads it
