"""Hardening from the second outside probe, each through the public interface (API, pages,
admin, the choke point), each found live against a production-shaped deployment."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from feedback.replay.worker import drain
from lab.state import LabState
from policies.models import AutoRemediationPolicy, RemediationPause
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.services import TicketInput, ticket_create
from tests.support.execution import LAB_CATEGORY, action, approved_ticket, lab_policy, lab_writes
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

KILL_SWITCH = "/api/v1/kill-switch"


@pytest.fixture
def lab_path(tmp_path, settings):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 1000
    return path


@pytest.fixture
def policy(db, seeded):
    return lab_policy()


@pytest.fixture
def oncall():
    person = UserFactory(username="oncall")
    person.user_permissions.add(Permission.objects.get(codename="pause_remediation"))
    return person


@pytest.fixture
def admin_client(client, seeded):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


# --- 1. A pause typed in capitals stops nothing ----------------------------------------------


def test_a_pause_typed_in_capitals_stops_an_approved_ticket_of_that_category(
    lab_path, policy, client_for, oncall
):
    r = client_for(oncall).put(
        KILL_SWITCH,
        {"paused": True, "category": LAB_CATEGORY.upper(), "reason": "hands off"},
        format="json",
    )
    assert r.status_code == 200, r.content
    # The answer echoes what the pause matches: the category as tickets store it.
    assert r.json()["applied"]["category"] == LAB_CATEGORY
    assert "policy lab-policy" in r.json()["applied"]["matches"]
    assert [p["category"] for p in r.json()["paused"]] == [LAB_CATEGORY]

    ticket = approved_ticket([action("restart_vm", vm="prod-web-05")])  # category "lab"
    drain()  # the real choke point claims it
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert f"paused for category {LAB_CATEGORY} by oncall" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_a_resume_in_capitals_lifts_the_pause(lab_path, policy, client_for, oncall):
    client = client_for(oncall)
    body = {"paused": True, "category": "lab", "reason": "x"}
    assert client.put(KILL_SWITCH, body, format="json").status_code == 200
    r = client.put(KILL_SWITCH, {"paused": False, "category": "LaB"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["paused"] == [] and r.json()["applied"]["changed"] is True
    approved_ticket([action("restart_vm", vm="prod-web-05")])
    drain()
    assert len(lab_writes(lab_path)) == 1


def test_a_pause_of_a_category_nothing_names_is_refused_unless_asked_for(
    seeded, client_for, oncall
):
    client = client_for(oncall)
    r = client.put(
        KILL_SWITCH, {"paused": True, "category": "netwrok", "reason": "typo"}, format="json"
    )
    assert r.status_code == 400
    [message] = r.json()["error"]["fields"]["category"]
    assert "would stop nothing" in message and "Did you mean network" in message
    assert not RemediationPause.objects.exists()
    r = client.put(
        KILL_SWITCH,
        {"paused": True, "category": "NEWTHING", "reason": "ahead", "allow_unknown_category": True},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["applied"] == {
        "paused": True,
        "category": "newthing",
        "matches": [],
        "changed": True,
    }


def test_every_way_a_category_enters_stores_it_lowercase(seeded, user, admin_client):
    # The ticket service (whoever calls it), not only the API.
    ticket = ticket_create(
        TicketInput(ticket_id="CAT-1", title="t", description="d", category=" Cache "),
        acting_user=user,
    ).ticket
    assert Ticket.objects.get(pk=ticket.pk).category == "cache"
    # A pause written by any code is the pause tickets are compared with.
    RemediationPause.objects.create(category="STORAGE", reason="x")
    assert RemediationPause.objects.get().category == "storage"
    # A policy edited in the admin.
    policy = AutoRemediationPolicy.objects.get(category="cache")
    assert AutoRemediationPolicy.objects.filter(category="CACHE").get() == policy


def test_the_pause_admin_refuses_a_category_nothing_names(admin_client):
    r = admin_client.post(
        "/admin/policies/remediationpause/add/", {"category": "Netwrok", "reason": "typo"}
    )
    assert r.status_code == 200 and b"would stop nothing" in r.content
    assert not RemediationPause.objects.exists()
    r = admin_client.post(
        "/admin/policies/remediationpause/add/", {"category": "NETWORK", "reason": "bridge"}
    )
    assert r.status_code == 302
    assert RemediationPause.objects.get().category == "network"


def test_the_policy_admin_stores_lowercase_and_flags_a_category_nothing_names(admin_client):
    r = admin_client.get("/admin/policies/autoremediationpolicy/add/")
    form = r.context["adminform"].form
    data = {
        name: form[name].value() if form[name].value() is not None else ""
        for name in form.fields
    }
    data.update(
        {
            "name": "typo-policy",
            "category": "DataBase",
            "allowed_action_types": ["safe_write"],
            "allowed_systems": ["vmware"],
            "allowed_days": ["monday"],
        }
    )
    data = {k: v for k, v in data.items() if v is not False}
    r = admin_client.post("/admin/policies/autoremediationpolicy/add/", data, follow=True)
    assert r.status_code == 200, r.content[:2000]
    assert AutoRemediationPolicy.objects.get(name="typo-policy").category == "database"
    assert b"governs no ticket until one does" in r.content
