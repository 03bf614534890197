"""Alert label mappings are edited in the admin; a bad mapping is refused on its field."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from remediation.alerts.models import AlertMapping, AlertRecord
from remediation.tickets.models import TicketRepeat
from tests.support.factories import UserFactory

ADD_URL = reverse("admin:remediation_alertmapping_add")
VALID = {
    "name": "Database instances",
    "priority": "5",
    "enabled": "on",
    "required_labels": json.dumps(["instance", "db"]),
    "system_template": "{instance}",
    "strip_port": "on",
    "category_label": "category",
    "default_category": "database",
    "severity_label": "severity",
    "severity_values": json.dumps({"critical": "critical", "warning": "medium"}),
    "default_severity": "high",
}


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_data_migration_seeds_the_common_conventions(seeded):
    rules = list(AlertMapping.objects.values_list("required_labels", "enable_auto_remediation"))
    assert (["namespace", "pod"], False) in rules
    assert (["node"], False) in rules
    assert (["instance"], False) in rules
    assert ([], False) in rules


def test_an_admin_adds_a_mapping_with_auto_remediation_off_by_default(admin_client):
    r = admin_client.post(ADD_URL, VALID)
    assert r.status_code == 302, r.context["adminform"].form.errors
    mapping = AlertMapping.objects.get(name="Database instances")
    assert mapping.enable_auto_remediation is False
    assert mapping.as_rule().required_labels == ("instance", "db")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("required_labels", json.dumps(["bad label"])),
        ("required_labels", json.dumps({"a": 1})),
        ("severity_values", json.dumps({"warning": "urgent"})),
        ("severity_values", json.dumps(["critical"])),
        ("system_template", "{instance"),
        ("system_template", "{0.__class__}"),
        ("severity_label", "not a label"),
        ("default_category", "Web Server"),
    ],
)
def test_a_bad_mapping_is_refused_on_its_field(admin_client, field, value):
    r = admin_client.post(ADD_URL, {**VALID, field: value})
    assert r.status_code == 200
    assert field in r.context["adminform"].form.errors
    assert not AlertMapping.objects.filter(name="Database instances").exists()


def test_alerts_and_repeats_are_read_only_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:remediation_alertrecord_add")).status_code == 403
    assert admin_client.get(reverse("admin:remediation_ticketrepeat_add")).status_code == 403
    assert admin_client.get(reverse("admin:remediation_alertrecord_changelist")).status_code == 200
    assert not AlertRecord.objects.exists() and not TicketRepeat.objects.exists()
