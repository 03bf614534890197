"""Admin changes of policies and runbooks are audited in the same transaction."""

from __future__ import annotations

import pytest
from django.urls import reverse

from policies.models import AutoRemediationPolicy
from remediation.analysis.models import Runbook, RunbookSource
from remediation.audit.models import AuditAction, AuditEvent
from tests.policies.test_policy_admin import ADD_URL, VALID
from tests.support.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def config_events():
    return list(AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).order_by("id"))


def test_adding_changing_and_deleting_a_policy_is_audited_with_old_and_new(client, root):
    assert client.post(ADD_URL, VALID).status_code == 302
    policy = AutoRemediationPolicy.objects.get(name=VALID["name"])
    change_url = reverse("admin:policies_autoremediationpolicy_change", args=[policy.pk])
    response = client.post(change_url, {**VALID, "min_reliability_score": "95", "enabled": ""})
    assert response.status_code == 302, response.content[:500]
    delete_url = reverse("admin:policies_autoremediationpolicy_delete", args=[policy.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 302

    added, changed, deleted = config_events()
    assert added.actor == root and added.details["verb"] == "added"
    assert added.details["model"] == "policies.AutoRemediationPolicy"
    assert changed.details["changes"] == {
        "enabled": ["True", "False"],
        "min_reliability_score": ["80.0", "95.0"],
    }
    assert "min_reliability_score" in changed.message
    assert deleted.details["verb"] == "deleted"
    assert deleted.details["changes"]["name"] == [VALID["name"], None]


def test_enabling_a_learned_runbook_from_the_changelist_is_audited(client, root):
    runbook = Runbook.objects.create(
        name="Learned x",
        operation="restart_vm",
        category="server",
        pattern=PatternFactory(),
        symptoms="a\nb",
        resolution="r",
        source=RunbookSource.FEEDBACK,
        enabled=False,
    )
    url = reverse("admin:remediation_runbook_changelist")
    rows = list(Runbook.objects.order_by("name"))
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "_save": "Save",
    }
    for i, row in enumerate(rows):
        data[f"form-{i}-id"] = str(row.pk)
        if row.enabled or row.pk == runbook.pk:
            data[f"form-{i}-enabled"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:800]
    runbook.refresh_from_db()
    assert runbook.enabled
    [event] = config_events()
    assert event.actor == root
    assert event.details["object_id"] == str(runbook.pk)
    assert event.details["changes"] == {"enabled": ["False", "True"]}


def test_a_save_without_changes_writes_no_event(client, root):
    assert client.post(ADD_URL, VALID).status_code == 302
    policy = AutoRemediationPolicy.objects.get(name=VALID["name"])
    change_url = reverse("admin:policies_autoremediationpolicy_change", args=[policy.pk])
    assert client.post(change_url, VALID).status_code == 302
    assert len(config_events()) == 1
