"""A connector's profile is edited in the admin and validated when saved: a bad template,
path or unit is refused naming the field; the seeded profiles are valid as shipped."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from remediation.connectors.models import PlatformConnector
from remediation.connectors.rules.prometheus_profile import PROMETHEUS_PROFILE
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def form(row: PlatformConnector, **changes) -> dict:
    fields = {
        "platform": row.platform,
        "name": row.name,
        "transport": row.transport,
        "command": row.command,
        "args": json.dumps(row.args),
        "env": json.dumps(row.env),
        "url": row.url,
        "tool_map": json.dumps(row.tool_map),
        "investigation_tools": json.dumps(row.investigation_tools),
        "profile": json.dumps(row.profile),
        "token_env": row.token_env,
        "timeout_seconds": row.timeout_seconds,
        "enabled": "on" if row.enabled else "",
        "simulated": "on" if row.simulated else "",
    }
    fields.update(changes)
    return fields


def test_the_seeded_profiles_are_valid(seeded):
    rows = list(PlatformConnector.objects.all())
    assert {r.platform for r in rows} >= {"vmware", "kubernetes", "prometheus"}
    for row in rows:
        row.full_clean()
        assert row.profile["observations"], row.platform
    prometheus = PlatformConnector.objects.get(platform="prometheus")
    assert not prometheus.enabled  # nothing needs a Prometheus until an admin says so
    assert prometheus.command == "var/prometheus-mcp/bin/prometheus-mcp-server"
    assert {e["tool"] for e in prometheus.profile["observations"]} == {"execute_query"}
    # The migration's frozen copy is the shipped profile (a change to it needs a migration).
    assert prometheus.profile == PROMETHEUS_PROFILE


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit": "furlongs"}, "observations[0] (pod.restarts_rate).unit"),
        ({"path": "result..0"}, "observations[0] (pod.restarts_rate).path"),
        ({"query": "rate(x{pod=$vm_name}[5m])"}, "observations[0] (pod.restarts_rate).query"),
        ({"tool": "delete_pod"}, "observations[0] (pod.restarts_rate).tool"),
    ],
)
def test_the_admin_refuses_a_bad_profile_naming_the_field(seeded, admin_client, change, message):
    row = PlatformConnector.objects.get(platform="prometheus")
    entry = next(e for e in row.profile["observations"] if e["observation"] == "pod.restarts_rate")
    profile = {"observations": [{**entry, **change}]}
    url = f"/admin/remediation/platformconnector/{row.pk}/change/"
    response = admin_client.post(url, form(row, profile=json.dumps(profile)))
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert "profile" in errors and message in " ".join(errors["profile"])
    row.refresh_from_db()
    assert row.profile["observations"][0] != profile["observations"][0]
    with pytest.raises(ValidationError) as raised:
        PlatformConnector(**{**_fields(row), "profile": profile}).full_clean(exclude=["platform"])
    assert message in " ".join(raised.value.message_dict["profile"])


def test_the_admin_saves_a_good_profile(seeded, admin_client):
    row = PlatformConnector.objects.get(platform="prometheus")
    profile = {
        "examples": {"pod": "default/web-7d9f"},
        "observations": [
            e for e in row.profile["observations"] if e["observation"].startswith("pod.")
        ],
    }
    url = f"/admin/remediation/platformconnector/{row.pk}/change/"
    response = admin_client.post(url, form(row, profile=json.dumps(profile)))
    assert response.status_code == 302, response.context["adminform"].form.errors
    row.refresh_from_db()
    assert row.profile == profile


def _fields(row: PlatformConnector) -> dict:
    return {
        f.name: getattr(row, f.name)
        for f in PlatformConnector._meta.fields
        if f.name not in ("id", "updated_at")
    }
