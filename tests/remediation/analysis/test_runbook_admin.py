"""Admins edit runbooks in the admin; the form keeps them inside the catalogue."""

from __future__ import annotations

import pytest

from remediation.analysis.models import Runbook, RunbookSource
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = UserFactory(username="root", email="root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def form(**overrides):
    data = {
        "name": "Restart hung web VMs",
        "operation": "restart_vm",
        "category": "server",
        "symptoms": "web vm hung\nweb frozen",
        "resolution": "Restart it.",
        "params": "{}",
        "source": RunbookSource.ADMIN,
        "enabled": "on",
    }
    return {**data, **overrides}


def test_the_changelist_filters_and_searches(admin_client):
    response = admin_client.get(
        "/admin/remediation/runbook/", {"operation": "expand_volume", "q": "disk full"}
    )
    assert response.status_code == 200
    names = [r.name for r in response.context["cl"].result_list]
    assert names == ["Volume nearly full: expand it"]
    for query in ({"source__exact": "seed"}, {"enabled__exact": "1"}, {"category": ""}):
        assert admin_client.get("/admin/remediation/runbook/", query).status_code == 200


def test_an_admin_adds_a_runbook(admin_client):
    response = admin_client.post("/admin/remediation/runbook/add/", form())
    assert response.status_code == 302
    assert Runbook.objects.get(name="Restart hung web VMs").operation == "restart_vm"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"operation": "delete_vm"}, "operation", "Select a valid choice"),
        (
            {"operation": "increase_memory", "params": '{"memory_gb": 5000}'},
            "params",
            "at most 1024",
        ),
        ({"params": '{"force": true}'}, "params", "unknown param 'force'"),
    ],
)
def test_the_form_refuses_what_the_catalogue_refuses(admin_client, overrides, field, message):
    response = admin_client.post("/admin/remediation/runbook/add/", form(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert not Runbook.objects.filter(name="Restart hung web VMs").exists()


def test_an_admin_states_the_causes_a_runbook_fixes_and_where_it_does_not_help(admin_client):
    response = admin_client.post(
        "/admin/remediation/runbook/add/",
        form(fixes_causes=" hung \n\n", not_for_causes="oom_killed\nconfig_error"),
    )
    assert response.status_code == 302
    runbook = Runbook.objects.get(name="Restart hung web VMs")
    assert runbook.fixes_cause_list == ["hung"]
    assert runbook.not_for_cause_list == ["oom_killed", "config_error"]


@pytest.mark.parametrize("field", ["fixes_causes", "not_for_causes"])
def test_an_unknown_cause_key_is_refused_and_names_the_known_ones(admin_client, field):
    response = admin_client.post("/admin/remediation/runbook/add/", form(**{field: "hungg"}))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors[field]
    assert "Unknown cause(s): hungg" in errors[0] and "oom_killed" in errors[0]
    assert not Runbook.objects.filter(name="Restart hung web VMs").exists()
