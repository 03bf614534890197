"""Editing policies in the admin: every bad policy is refused with the reason on its field."""

from __future__ import annotations

import pytest
from django.urls import reverse

from policies.models import AutoRemediationPolicy
from tests.support.factories import UserFactory

ADD_URL = reverse("admin:policies_autoremediationpolicy_add")

VALID = {
    "name": "database-auto-remediation",
    "category": "database",
    "min_confidence_score": "0.8",
    "min_reliability_score": "80",
    "min_similar_tickets": "5",
    "min_positive_feedback_rate": "0.8",
    "allowed_action_types": ["read_only", "safe_write"],
    "allowed_systems": ["vmware", "kubernetes"],
    "forbidden_commands": "delete, format , shutdown",
    "allowed_hours_start": "22",
    "allowed_hours_end": "6",
    "allowed_days": ["monday", "friday"],
    "timezone": "Europe/Berlin",
    "requires_approval": "on",
    "auto_approve_threshold": "90",
    "approvers": "admin@company.com, ops@company.com",
    "required_approvals": "2",
    "approval_timeout_minutes": "240",
    "max_actions_per_hour": "10",
    "requires_rollback_plan": "on",
    "requires_backup": "on",
    "enabled": "on",
    "mode": "enforce",
    "rollout_percentage": "25",
    "circuit_breaker_threshold": "3",
    "circuit_breaker_window_minutes": "60",
}


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_it_creates_a_policy_from_checkboxes_and_comma_separated_lists(admin_client):
    response = admin_client.post(ADD_URL, VALID)

    assert response.status_code == 302, response.context["adminform"].form.errors
    policy = AutoRemediationPolicy.objects.get(category="database")
    assert policy.allowed_action_types == ["read_only", "safe_write"]
    assert policy.allowed_systems == ["vmware", "kubernetes"]
    assert policy.forbidden_commands == ["delete", "format", "shutdown"]
    assert policy.allowed_days == ["monday", "friday"]
    assert policy.approvers == ["admin@company.com", "ops@company.com"]
    assert policy.required_approvals == 2
    assert policy.rollout_percentage == 25
    assert policy.timezone == "Europe/Berlin"


def test_an_empty_threshold_is_stored_as_never_auto_approve(admin_client):
    response = admin_client.post(ADD_URL, {**VALID, "auto_approve_threshold": ""})
    assert response.status_code == 302
    assert AutoRemediationPolicy.objects.get(category="database").auto_approve_threshold is None


BAD = {
    "an hour past 23": ("allowed_hours_start", "24", "less than or equal to 23"),
    "a negative end hour": ("allowed_hours_end", "-1", "greater than or equal to 0"),
    "an unknown day": ("allowed_days", ["monday", "funday"], "Select a valid choice"),
    "an unknown action type": ("allowed_action_types", ["destroy"], "Select a valid choice"),
    "an unknown platform": ("allowed_systems", ["mainframe"], "Select a valid choice"),
    "a confidence above 1": ("min_confidence_score", "1.5", "less than or equal to 1"),
    "a reliability above 100": ("min_reliability_score", "100.5", "less than or equal to 100"),
    "a negative feedback rate": (
        "min_positive_feedback_rate",
        "-0.1",
        "greater than or equal to 0",
    ),
    "a threshold above 100": ("auto_approve_threshold", "101", "less than or equal to 100"),
    "a threshold that is not a number": ("auto_approve_threshold", "ninety", "Enter a number"),
    "negative similar tickets": ("min_similar_tickets", "-1", "greater than or equal to 0"),
    "a negative hourly cap": ("max_actions_per_hour", "-5", "greater than or equal to 0"),
    "an approver that is no e-mail address": (
        "approvers",
        "admin@company.com, not-an-email",
        "'not-an-email' is not a valid e-mail address",
    ),
    "an approver listed twice": ("approvers", "a@company.com, a@company.com", "listed twice"),
    "zero required approvals": ("required_approvals", "0", "greater than or equal to 1"),
    "a timeout of zero": ("approval_timeout_minutes", "0", "greater than or equal to 1"),
    "a timeout over a week": ("approval_timeout_minutes", "10081", "less than or equal to 10080"),
    "a rollout over 100%": ("rollout_percentage", "101", "less than or equal to 100"),
    "an unknown time zone": ("timezone", "Mars/Olympus", "Unknown time zone"),
    "a path as time zone": ("timezone", "../../etc/passwd", "Unknown time zone"),
    "an unknown mode": ("mode", "yolo", "Select a valid choice"),
    "a name with a NUL byte": ("name", "bad\x00name", "Null characters are not allowed"),
    "a name already taken": ("name", "cache-auto-remediation", "already exists"),
    "a category that already has a policy": ("category", "cache", "already exists"),
    "a huge approvers list": ("approvers", "a@b.co, " * 600, "at most 4000 characters"),
}


@pytest.mark.parametrize(("field", "value", "message"), list(BAD.values()), ids=list(BAD))
def test_it_refuses_a_bad_policy_with_the_reason_on_the_field(admin_client, field, value, message):
    before = AutoRemediationPolicy.objects.count()

    response = admin_client.post(ADD_URL, {**VALID, field: value})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert any(message in e for e in errors[field]), errors[field]
    assert AutoRemediationPolicy.objects.count() == before


def test_it_refuses_more_required_approvals_than_listed_approvers(admin_client):
    response = admin_client.post(
        ADD_URL, {**VALID, "approvers": "one@company.com", "required_approvals": "2"}
    )

    errors = response.context["adminform"].form.errors
    assert errors["required_approvals"] == [
        "Asks for 2 approvals but only 1 approver(s) are listed."
    ]
    assert not AutoRemediationPolicy.objects.filter(category="database").exists()


def test_it_allows_several_approvals_when_no_approvers_are_listed(admin_client):
    # Then anyone holding the approve permission may approve, and there may be many.
    response = admin_client.post(ADD_URL, {**VALID, "approvers": "", "required_approvals": "3"})
    assert response.status_code == 302


def test_an_edit_keeps_the_row_unchanged_when_refused(admin_client):
    policy = AutoRemediationPolicy.objects.get(category="cache")
    url = reverse("admin:policies_autoremediationpolicy_change", args=[policy.pk])

    page = admin_client.get(url)
    assert page.status_code == 200
    shown = page.context["adminform"].form["forbidden_commands"].value()
    assert shown == ", ".join(policy.forbidden_commands)

    data = {**VALID, "name": policy.name, "category": "cache", "allowed_hours_end": "30"}
    response = admin_client.post(url, data)
    assert "allowed_hours_end" in response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert policy.allowed_hours_end == 0


def test_the_edit_form_shows_lists_as_comma_separated_text(admin_client):
    policy = AutoRemediationPolicy.objects.get(category="cache")
    policy.approvers = ["a@company.com", "b@company.com"]
    policy.save()
    page = admin_client.get(
        reverse("admin:policies_autoremediationpolicy_change", args=[policy.pk])
    )
    assert 'value="a@company.com, b@company.com"' in page.content.decode()
    for legend in ("Thresholds", "Allowed actions", "Time restrictions", "Approval", "Safety"):
        assert legend in page.content.decode()


@pytest.mark.parametrize(
    "query",
    ["", "?q=cache", "?enabled__exact=1", "?mode__exact=shadow", "?requires_backup__exact=1"],
)
def test_the_list_filters_and_searches(admin_client, query):
    response = admin_client.get(reverse("admin:policies_autoremediationpolicy_changelist") + query)
    assert response.status_code == 200


def test_a_staff_user_without_the_permission_cannot_add_a_policy(client, db):
    client.force_login(UserFactory(username="staff", is_staff=True))
    before = AutoRemediationPolicy.objects.count()
    response = client.post(ADD_URL, VALID)
    assert response.status_code == 403
    assert AutoRemediationPolicy.objects.count() == before
