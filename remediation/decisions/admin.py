"""The policy what-if page in the admin: a policy's fields changed in a form, replayed over
the category's recent decisions, never saved.

It lives with the decisions it replays: the policies app may not read tickets. The policy's
admin page links to it by URL name (``policy_whatif``).
"""

from __future__ import annotations

import copy

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse

from policies.admin import AutoRemediationPolicyForm
from policies.models import AutoRemediationPolicy
from policies.whatif import FIXED_FIELDS
from remediation.decisions.whatif import MAX_DAYS, policy_whatif

WHATIF_PERMISSIONS = ("policies.view_autoremediationpolicy", "remediation.view_ticket")


class WhatIfDaysForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=MAX_DAYS, initial=30)


def policy_whatif_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Read-only: a GET form of the policy's fields; the changed copy is never saved.

    Served under the admin (``config/urls.py``) with the admin's login and context; the
    policy's change page links here by URL name."""
    if not all(request.user.has_perm(p) for p in WHATIF_PERMISSIONS):
        raise PermissionDenied
    policy = get_object_or_404(AutoRemediationPolicy, pk=policy_id)
    report = None
    if "days" in request.GET:
        form = AutoRemediationPolicyForm(request.GET, instance=copy.copy(policy))
        days_form = WhatIfDaysForm(request.GET)
    else:
        form = AutoRemediationPolicyForm(instance=copy.copy(policy))
        days_form = WhatIfDaysForm()
    for name in FIXED_FIELDS:
        form.fields[name].disabled = True
    if form.is_bound and form.is_valid() and days_form.is_valid():
        report = policy_whatif(policy.category, form.instance, days=days_form.cleaned_data["days"])
    context = {
        **admin.site.each_context(request),
        "title": f"What if: policy {policy.name}",
        "policy": policy,
        "form": form,
        "days_form": days_form,
        "report": report,
        "opts": AutoRemediationPolicy._meta,
    }
    return TemplateResponse(request, "admin/remediation/policy_whatif.html", context)
