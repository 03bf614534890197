"""The live kill switch: a pause set in the API or the admin stops queued work at the next
claim and new tickets at their decision, without a restart; audited; its own permission;
the environment's AUTO_REMEDIATION_ENABLED=false stays a floor it cannot lift."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from policies.models import RemediationPause
from remediation.analysis.services import ticket_analyze
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.services import TicketInput, ticket_create
from tests.support.execution import LAB_CATEGORY, action, approved_ticket, lab_writes
from tests.support.factories import UserFactory
from tests.support.queue import drain

URL = "/api/v1/kill-switch"

pytestmark = pytest.mark.django_db


@pytest.fixture
def oncall():
    person = UserFactory(username="oncall")
    person.user_permissions.add(Permission.objects.get(codename="pause_remediation"))
    return person


def pause(client, **body):
    r = client.put(
        URL, {"paused": True, "reason": "incident bridge: hands off", **body}, format="json"
    )
    assert r.status_code == 200, r.content
    return r.json()


def test_a_pause_set_in_the_api_stops_queued_work_at_its_claim(
    lab_path, policy, client_for, oncall
):
    ticket = approved_ticket([action("restart_vm", vm="prod-web-05")])  # queued, not yet run
    state = pause(client_for(oncall))
    assert state["environment_enabled"] is True
    assert [(p["category"], p["paused_by"]) for p in state["paused"]] == [(None, "oncall")]

    drain()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "paused for every category by oncall: incident bridge: hands off" in ticket.status_reason
    assert lab_writes(lab_path) == []
    event = AuditEvent.objects.get(action=AuditAction.REMEDIATION_PAUSED)
    assert event.actor == oncall and event.details["category"] == ""


def test_resuming_lets_the_next_work_run(lab_path, policy, client_for, oncall):
    pause(client_for(oncall))
    r = client_for(oncall).put(URL, {"paused": False}, format="json")
    assert r.status_code == 200 and r.json()["paused"] == []
    assert AuditEvent.objects.filter(action=AuditAction.REMEDIATION_RESUMED).count() == 1
    approved_ticket([action("restart_vm", vm="prod-web-05")])
    drain()
    assert len(lab_writes(lab_path)) == 1


def test_a_category_pause_stops_that_category_only(lab_path, policy, client_for, oncall):
    pause(client_for(oncall), category="network")
    ticket = approved_ticket([action("restart_vm", vm="prod-web-05")])  # category "lab"
    drain()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    pause(client_for(oncall), category=LAB_CATEGORY)
    other = approved_ticket([action("restart_vm", vm="prod-web-06")])
    drain()
    other.refresh_from_db()
    assert other.status == TicketStatus.MANUAL_REVIEW
    assert f"paused for category {LAB_CATEGORY}" in other.status_reason
    assert len(lab_writes(lab_path)) == 1


def test_a_ticket_decided_while_paused_goes_to_a_person(policy, client_for, oncall, user):
    pause(client_for(oncall), category="server")
    ticket = ticket_create(
        TicketInput(
            ticket_id="PAUSED-1",
            title="Service down on prod-web-01",
            description="The web service on prod-web-01 is not responding; the VM is hung.",
            category="server",
            affected_system="prod-web-01",
            enable_auto_remediation=True,
        ),
        acting_user=user,
    ).ticket
    ticket_analyze(ticket.pk)
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == TicketStatus.ANALYZED
    assert ticket.remediation_decision["allowed"] is False
    assert any(
        "paused for category server by oncall" in line
        for line in ticket.remediation_decision["reasoning"]
    )


def test_resuming_cannot_lift_the_environments_floor(
    lab_path, policy, client_for, oncall, settings
):
    settings.AUTO_REMEDIATION_ENABLED = False
    r = client_for(oncall).put(URL, {"paused": False}, format="json")
    assert r.status_code == 200
    assert r.json()["environment_enabled"] is False and r.json()["paused"] == []
    ticket = approved_ticket([action("restart_vm", vm="prod-web-05")])
    drain()
    ticket.refresh_from_db()
    assert "switched off" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_pausing_twice_keeps_the_first_reason_and_audits_once(client_for, oncall):
    pause(client_for(oncall), reason="first")
    state = pause(client_for(oncall), reason="second")
    assert [p["reason"] for p in state["paused"]] == ["first"]
    assert AuditEvent.objects.filter(action=AuditAction.REMEDIATION_PAUSED).count() == 1


# --- who may ---------------------------------------------------------------------------


def test_it_needs_its_own_permission(client_for, user, anon):
    approver = UserFactory(username="approver")
    approver.user_permissions.add(Permission.objects.get(codename="approve_remediation"))
    for client in (client_for(user), client_for(approver)):
        assert client.get(URL).status_code == 403
        r = client.put(URL, {"paused": True, "reason": "x"}, format="json")
        assert r.status_code == 403
    assert anon.put(URL, {"paused": True, "reason": "x"}, format="json").status_code == 401
    assert not RemediationPause.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "paused"),
        ({"paused": "yes", "reason": "x"}, "paused"),
        ({"paused": 1, "reason": "x"}, "paused"),
        ({"paused": True}, "reason"),
        ({"paused": True, "reason": ""}, "reason"),
        ({"paused": True, "reason": "x" * 501}, "reason"),
        ({"paused": True, "reason": "bad\x00byte"}, "reason"),
        ({"paused": True, "reason": "x", "category": "a/b"}, "category"),
        ({"paused": True, "reason": "x", "category": "x" * 51}, "category"),
        ({"paused": True, "reason": "x", "category": 5}, "category"),
        ({"paused": True, "reason": "x", "paused_by": "someone-else"}, "paused_by"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(client_for, oncall, body, field):
    r = client_for(oncall).put(URL, body, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["error"]["fields"]
    assert not RemediationPause.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.REMEDIATION_PAUSED).exists()


def test_a_body_that_is_not_an_object_is_a_400(client_for, oncall):
    r = client_for(oncall).put(URL, data="[1, 2]", content_type="application/json")
    assert r.status_code == 400


# --- the admin ---------------------------------------------------------------------------


def test_the_admin_pauses_and_resumes_through_the_same_service(client, oncall):
    oncall.is_staff = True
    oncall.save()
    client.force_login(oncall)
    r = client.post(
        "/admin/policies/remediationpause/add/",
        {"category": "", "reason": "change freeze"},
    )
    assert r.status_code == 302, r.content
    pause_row = RemediationPause.objects.get()
    assert (pause_row.category, pause_row.paused_by) == ("", oncall)
    assert AuditEvent.objects.filter(action=AuditAction.REMEDIATION_PAUSED).count() == 1

    r = client.post(f"/admin/policies/remediationpause/{pause_row.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not RemediationPause.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.REMEDIATION_RESUMED).count() == 1


def test_staff_without_the_permission_cannot_flip_it_in_the_admin(client):
    staff = UserFactory(username="staff", is_staff=True)
    client.force_login(staff)
    r = client.post("/admin/policies/remediationpause/add/", {"category": "", "reason": "x"})
    assert r.status_code == 403
    assert not RemediationPause.objects.exists()


def test_the_admin_refuses_a_category_that_is_not_one(client, oncall):
    oncall.is_staff = True
    oncall.save()
    client.force_login(oncall)
    r = client.post("/admin/policies/remediationpause/add/", {"category": "a/b", "reason": "x"})
    assert r.status_code == 200  # the form again, with the error
    assert b"A category: letters, digits" in r.content
    assert not RemediationPause.objects.exists()
