"""POST /api/v1/tickets/{ticket_id}/approve-remediation: every rule of docs/approvals.md."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from remediation.approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from remediation.approvals.selectors import approval_check
from remediation.approvals.services import approval_expire_due
from remediation.audit.models import AuditAction, AuditEvent
from remediation.catalogue.rules.digest import actions_digest
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.approvals import RESTART_WEB_02, approver, awaiting_ticket, policy
from tests.support.factories import RESTART_VM, UserFactory

pytestmark = pytest.mark.django_db


def url(ticket_id: str) -> str:
    return f"/api/v1/tickets/{ticket_id}/approve-remediation"


def approve(client, ticket, **body):
    return client.post(url(ticket.ticket_id), {"approve": True, **body}, format="json")


def reject(client, ticket, comment="Not during the sale", **body):
    return client.post(
        url(ticket.ticket_id), {"approve": False, "comment": comment, **body}, format="json"
    )


def actions_of(ticket, action):
    return list(AuditEvent.objects.filter(ticket=ticket, action=action))


@pytest.fixture
def ticket(lab, user):
    return awaiting_ticket(user)


@pytest.fixture
def carol(db):
    return approver("carol", email="carol@example.com")


@pytest.fixture
def dave(db):
    return approver("dave", email="dave@example.com")


# --- the happy path ----------------------------------------------------------------------


def test_the_last_needed_approval_hands_the_ticket_to_execution(ticket, carol, client_for):
    r = approve(
        client_for(carol),
        ticket,
        approver="carol",
        comment="Looks right",
        ticket_id=ticket.ticket_id,
    )

    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["execution_requested"] is True
    assert body["status"] == TicketStatus.REMEDIATING
    assert body["approvals_given"] == 1 and body["approvals_required"] == 1
    assert "handed to execution" in body["message"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REMEDIATING
    request = ApprovalRequest.objects.get(ticket=ticket)
    assert request.status == ApprovalStatus.APPROVED
    assert actions_of(ticket, AuditAction.APPROVAL_GRANTED)[0].actor == carol
    assert len(actions_of(ticket, AuditAction.EXECUTION_REQUESTED)) == 1
    assert approval_check(ticket).ok


def test_the_approver_may_be_named_by_email(ticket, carol, client_for):
    r = approve(client_for(carol), ticket, approver="Carol@Example.com")
    assert r.status_code == 200


def test_opening_a_request_is_audited_with_its_deadline(ticket):
    event = actions_of(ticket, AuditAction.APPROVAL_REQUESTED)[0]
    request = ApprovalRequest.objects.get(ticket=ticket)
    assert request.required_approvals == 1
    assert request.expires_at - request.opened_at == timedelta(minutes=240)
    assert event.details["actions_digest"] == actions_digest([RESTART_VM])


# --- who may approve ---------------------------------------------------------------------


def test_an_outsider_is_refused_and_nothing_changes(ticket, client_for):
    outsider = UserFactory(username="mallory")
    r = approve(client_for(outsider), ticket)
    assert r.status_code == 403
    assert "You may not approve remediation" in r.json()["error"]["message"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert not ApprovalDecision.objects.exists()


def test_an_outsider_learns_nothing_about_unknown_tickets(client_for, db):
    r = client_for(UserFactory(username="mallory")).post(
        url("INC-NOPE"), {"approve": True}, format="json"
    )
    assert r.status_code == 403


def test_an_approver_asking_for_an_unknown_ticket_gets_404(carol, client_for):
    r = client_for(carol).post(url("INC-NOPE"), {"approve": True}, format="json")
    assert r.status_code == 404
    assert r.json()["error"]["fields"] == {"ticket_id": ["Not found."]}


def test_naming_someone_else_as_approver_is_403(ticket, carol, dave, client_for):
    r = approve(client_for(carol), ticket, approver="dave")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "wrong_approver"
    assert "approver" in r.json()["error"]["fields"]
    assert not ApprovalDecision.objects.exists()


def test_nobody_approves_a_ticket_they_submitted(lab, carol, client_for):
    own = awaiting_ticket(carol)
    r = approve(client_for(carol), own)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "own_ticket"
    own.refresh_from_db()
    assert own.status == TicketStatus.AWAITING_APPROVAL


def test_a_policy_with_approvers_admits_only_them(lab, user, carol, client_for):
    policy("server", approvers=["erin@example.com"])
    ticket = awaiting_ticket(user)
    erin = UserFactory(username="erin", email="erin@example.com")  # no permission needed

    refused = approve(client_for(carol), ticket)  # holds the permission, not listed
    assert refused.status_code == 403
    assert "policy" in refused.json()["error"]["message"]

    assert approve(client_for(erin), ticket).status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REMEDIATING


def test_an_empty_approver_list_never_means_everyone(lab, user, client_for):
    policy("server", approvers=[])
    ticket = awaiting_ticket(user)
    r = approve(client_for(UserFactory(username="anyone", email="anyone@example.com")), ticket)
    assert r.status_code == 403


def test_an_inactive_approver_is_refused(ticket, carol, client_for):
    client = client_for(carol)
    carol.is_active = False
    carol.save()
    assert approve(client, ticket).status_code in (401, 403)


# --- M of N ----------------------------------------------------------------------------


def test_two_approvals_needed_the_same_person_twice_counts_once(lab, user, carol, dave, client_for):
    policy("server", required_approvals=2)
    ticket = awaiting_ticket(user)

    first = approve(client_for(carol), ticket)
    again = approve(client_for(carol), ticket)

    assert first.json()["approvals_given"] == 1 and first.json()["counted"] is True
    assert again.status_code == 200
    assert again.json()["counted"] is False and again.json()["approvals_given"] == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert ApprovalDecision.objects.filter(approve=True).count() == 1
    assert not approval_check(ticket).ok

    last = approve(client_for(dave), ticket)
    assert last.json()["execution_requested"] is True
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REMEDIATING
    check = approval_check(ticket)
    assert check.ok and check.approvals_given == 2


# --- rejection -------------------------------------------------------------------------


def test_a_rejection_ends_the_request_with_who_and_why(lab, user, carol, dave, client_for):
    policy("server", required_approvals=2)
    ticket = awaiting_ticket(user)
    approve(client_for(carol), ticket)

    r = reject(client_for(dave), ticket, comment="Black Friday: no restarts today")

    assert r.status_code == 200
    assert r.json()["status"] == TicketStatus.MANUAL_REVIEW
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert ticket.status_reason == "Rejected by dave: Black Friday: no restarts today"
    assert ApprovalRequest.objects.get(ticket=ticket).status == ApprovalStatus.REJECTED
    event = actions_of(ticket, AuditAction.APPROVAL_REJECTED)[0]
    assert event.actor == dave and event.details["refused"] == ["restart_vm"]
    ticket.pattern.refresh_from_db()
    assert ticket.pattern.rejection_count == 1
    assert not approval_check(ticket).ok
    # And it stays decided: a later approval is a conflict.
    assert approve(client_for(carol), ticket).status_code == 409


def test_a_rejection_needs_a_reason(ticket, carol, client_for):
    r = reject(client_for(carol), ticket, comment="  ")
    assert r.status_code == 400
    assert "comment" in r.json()["error"]["fields"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL


# --- expiry ----------------------------------------------------------------------------


def test_an_expired_request_refuses_approval_and_goes_to_manual_review(ticket, carol, client_for):
    with time_machine.travel(timezone.now() + timedelta(minutes=241)):
        r = approve(client_for(carol), ticket)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "approval_expired"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert ticket.status_reason.startswith("Approval expired")
    assert ApprovalRequest.objects.get(ticket=ticket).status == ApprovalStatus.EXPIRED
    assert not ApprovalDecision.objects.exists()


def test_the_sweep_expires_what_is_due_and_only_that(lab, user, ticket):
    policy("batch", approval_timeout_minutes=600)
    later = awaiting_ticket(user, category="batch")
    with time_machine.travel(timezone.now() + timedelta(minutes=300)):
        assert approval_expire_due() == 1
        assert approval_expire_due() == 0  # safe to run twice
    ticket.refresh_from_db()
    later.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert later.status == TicketStatus.AWAITING_APPROVAL
    assert len(actions_of(ticket, AuditAction.APPROVAL_EXPIRED)) == 1


def test_the_check_refuses_a_pending_request_past_its_deadline(ticket):
    later = timezone.now() + timedelta(minutes=241)
    assert approval_check(ticket, now=later).ok is False
    assert "expired" in approval_check(ticket, now=later).reason


# --- the actions digest ----------------------------------------------------------------


def test_actions_changed_after_approval_no_longer_count(lab, user, carol, dave, client_for):
    policy("server", required_approvals=2)
    ticket = awaiting_ticket(user)
    approve(client_for(carol), ticket)
    # Another plan replaces the one carol saw (e.g. a re-analysis).
    Ticket.objects.filter(pk=ticket.pk).update(suggested_actions=[RESTART_WEB_02])

    r = approve(client_for(dave), ticket)

    assert r.json()["approvals_given"] == 1  # only dave's counts for the new actions
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    check = approval_check(ticket)
    assert not check.ok and "actions changed" in check.reason


def test_an_approval_of_actions_that_changed_since_fails_the_execution_check(
    ticket, carol, client_for
):
    approve(client_for(carol), ticket)
    ticket.refresh_from_db()
    assert approval_check(ticket).ok
    Ticket.objects.filter(pk=ticket.pk).update(suggested_actions=[RESTART_WEB_02])
    ticket.refresh_from_db()
    assert not approval_check(ticket).ok


def test_the_ticket_shows_the_digest_an_approval_binds_to(ticket, carol, client_for):
    client = client_for(carol)
    shown = client.get(f"/api/v1/tickets/{ticket.ticket_id}").json()["actions_digest"]
    assert shown == actions_digest([RESTART_VM])
    assert approve(client, ticket, actions_digest=shown).status_code == 200


def test_approving_with_a_stale_digest_is_refused(ticket, carol, client_for):
    stale = actions_digest([RESTART_WEB_02])
    r = approve(client_for(carol), ticket, actions_digest=stale)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "actions_changed"
    current = approve(client_for(carol), ticket, actions_digest=actions_digest([RESTART_VM]))
    assert current.status_code == 200


# --- not awaiting approval -------------------------------------------------------------


def test_a_ticket_not_awaiting_approval_is_409(carol, user, client_for):
    from tests.support.factories import TicketFactory

    analyzed = TicketFactory(submitted_by=user, status=TicketStatus.ANALYZED)
    r = approve(client_for(carol), analyzed)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "not_awaiting_approval"


def test_an_approved_ticket_is_not_approved_twice(ticket, carol, dave, client_for):
    approve(client_for(carol), ticket)
    r = approve(client_for(dave), ticket)
    assert r.status_code == 409
    assert len(actions_of(ticket, AuditAction.EXECUTION_REQUESTED)) == 1


def test_a_decision_that_did_not_require_approval_passes_the_check(user):
    from tests.support.factories import TicketFactory

    t = TicketFactory(submitted_by=user, remediation_decision={"requires_approval": False})
    assert approval_check(t).ok


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "approve"),
        ({"approve": "yes"}, "approve"),
        ({"approve": 1}, "approve"),
        ({"approve": True, "comment": "x" * 2001}, "comment"),
        ({"approve": True, "comment": "a\x00b"}, "comment"),
        ({"approve": True, "comment": 5}, "comment"),
        ({"approve": True, "approver": "carol\x00"}, "approver"),
        ({"approve": True, "approver": "c" * 300}, "approver"),
        ({"approve": True, "actions_digest": "zz"}, "actions_digest"),
        ({"approve": True, "ticket_id": "INC-OTHER"}, "ticket_id"),
        ({"approve": True, "ticket_id": ["x"]}, "ticket_id"),
        ({"approve": True, "submitted_by": "x"}, "submitted_by"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_changes_nothing(
    ticket, carol, client_for, body, field
):
    r = client_for(carol).post(url(ticket.ticket_id), body, format="json")
    assert r.status_code == 400, r.json()
    assert field in r.json()["error"]["fields"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    assert not ApprovalDecision.objects.exists()


def test_a_body_that_is_not_an_object_is_400(ticket, carol, client_for):
    r = client_for(carol).post(url(ticket.ticket_id), [1, 2], format="json")
    assert r.status_code == 400


def test_a_huge_body_is_refused_without_a_500(ticket, carol, client_for):
    r = client_for(carol).post(
        url(ticket.ticket_id), {"approve": True, "comment": "x" * 300_000}, format="json"
    )
    assert r.status_code in (400, 413)


def test_anonymous_callers_are_401(ticket, anon):
    assert approve(anon, ticket).status_code == 401


# --- notifications ---------------------------------------------------------------------


def test_approvers_are_mailed_once_after_commit_with_a_link(
    lab, user, carol, dave, drain_queue, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    approver("submitter-approver", email=user.email)  # holds the permission
    ticket = awaiting_ticket(user)
    assert mail.outbox == []  # nothing inside the transaction

    drain_queue()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["carol@example.com", "dave@example.com"]
    assert f"/approvals/requests/{ticket.ticket_id}/" in message.body
    # A second delivery of the task sends nothing.
    from remediation.approvals.tasks import notify_approvers

    request = ApprovalRequest.objects.get(ticket=ticket)
    assert notify_approvers(request.pk) == "skipped: already notified"
    assert len(mail.outbox) == 1


def test_a_policys_approvers_are_the_ones_mailed(lab, user, drain_queue, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    policy("server", approvers=["erin@example.com", "frank@example.com"], required_approvals=2)
    awaiting_ticket(user)
    drain_queue()
    assert sorted(mail.outbox[0].to) == ["erin@example.com", "frank@example.com"]


def test_administrators_are_mailed_once_about_an_event_after_commit(ticket, drain_queue, settings):
    from django.db import transaction

    from remediation.notifications.models import AdminEvent
    from remediation.notifications.services import admins_notify_later

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ADMINS = [("Ops", "ops@example.com")]
    drain_queue()
    mail.outbox.clear()
    owed = {"key": f"test:{ticket.pk}", "subject": "rolled back", "detail": "step 2 failed"}
    with transaction.atomic():
        assert admins_notify_later(ticket, AdminEvent.ROLLED_BACK, **owed)
        # The same event recorded again owes no second mail.
        assert not admins_notify_later(ticket, AdminEvent.ROLLED_BACK, **owed)
        assert mail.outbox == []
    drain_queue()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com"]
    assert "rolled back" in mail.outbox[0].subject and "step 2 failed" in mail.outbox[0].body


def test_the_expiry_sweep_is_scheduled_every_minute_and_runs_as_a_task(ticket):
    from django_q.models import Schedule

    from remediation.approvals.tasks import expire_approval_requests

    schedule = Schedule.objects.get(name="expire approval requests")
    assert schedule.func == "remediation.approvals.tasks.expire_approval_requests"
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 1)
    with time_machine.travel(timezone.now() + timedelta(minutes=241)):
        assert expire_approval_requests() == "expired 1"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW


def test_a_policy_disabled_while_the_request_waited_stops_the_approved_run(
    lab, user, carol, client_for, drain_queue
):
    """The probe disabled the category's policy while a request waited, then approved: the
    execution ran. The claim asks the decision's policy rule again, and a policy that is
    no longer active refuses it."""
    decided_under = policy("server")
    ticket = awaiting_ticket(user)
    assert ticket.decision_policy == decided_under.name
    decided_under.enabled = False
    decided_under.save()
    r = approve(client_for(carol), ticket, approver="carol")
    assert r.status_code == 200, r.json()
    drain_queue()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "no longer active" in ticket.status_reason
    assert ticket.auto_remediation_executed is False
    refused = AuditEvent.objects.get(ticket=ticket, action=AuditAction.EXECUTION_REFUSED)
    assert "no longer active" in refused.message
