"""The admin's approve/reject actions call the same services, with the same rules."""

from __future__ import annotations

import re

import pytest

from remediation.approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.approvals import awaiting_ticket
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/remediation/approvalrequest/"


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def act(client, action, requests, **extra):
    data = {"action": action, "_selected_action": [r.pk for r in requests], **extra}
    return client.post(CHANGELIST, data, follow=True)


def shown_digests(page) -> dict[str, str]:
    """The digests the confirmation page put in its form, as a browser would send them."""
    return dict(re.findall(r'name="(digest_\d+)" value="([0-9a-f]{64})"', page.content.decode()))


def test_the_approve_action_asks_for_a_comment_then_approves_as_the_admin(client, lab, user, root):
    ticket = awaiting_ticket(user)
    request = ApprovalRequest.objects.get(ticket=ticket)
    client.force_login(root)

    confirm = act(client, "approve_selected", [request])
    assert b"Approve the selected requests" in confirm.content
    assert b"restart_vm on prod-web-01" in confirm.content  # what the approval is for
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.AWAITING_APPROVAL

    shown = shown_digests(confirm)
    done = act(client, "approve_selected", [request], apply="1", comment="fine", **shown)
    assert b"handed to execution" in done.content
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.REMEDIATING
    decision = ApprovalDecision.objects.get()
    assert decision.approver == root and decision.via == "admin"


def test_the_reject_action_needs_a_reason_and_keeps_the_rules(client, lab, root, user):
    own = awaiting_ticket(root, ticket_id="INC-ROOTS")
    other = awaiting_ticket(user, ticket_id="INC-OTHER")
    client.force_login(root)
    requests = list(ApprovalRequest.objects.filter(ticket__in=[own, other]))

    shown = shown_digests(act(client, "reject_selected", requests))
    r = act(client, "reject_selected", requests, apply="1", comment="Wrong target", **shown)

    assert b"You submitted this ticket" in r.content  # own ticket refused, with the reason
    assert ApprovalRequest.objects.get(ticket=own).status == ApprovalStatus.PENDING
    assert ApprovalRequest.objects.get(ticket=other).status == ApprovalStatus.REJECTED
    assert Ticket.objects.get(pk=other.pk).status_reason == "Rejected by root: Wrong target"


def test_the_bulk_approval_binds_to_the_actions_the_page_showed(client, lab, user, root):
    """Approving binds to the digest shown on the confirmation page: actions changed in
    between are refused, and an apply without the shown digest decides nothing."""
    ticket = awaiting_ticket(user)
    request = ApprovalRequest.objects.get(ticket=ticket)
    client.force_login(root)
    shown = shown_digests(act(client, "approve_selected", [request]))
    changed = [{**a, "params": {"vm": "prod-web-09"}, "system": "prod-web-09"}
               for a in ticket.suggested_actions]  # fmt: skip
    Ticket.objects.filter(pk=ticket.pk).update(suggested_actions=changed)

    r = act(client, "approve_selected", [request], apply="1", comment="ok", **shown)
    assert b"changed" in r.content
    blind = act(client, "approve_selected", [request], apply="1", comment="ok")
    assert b"did not say which actions you decided on" in blind.content
    assert not ApprovalDecision.objects.exists()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.AWAITING_APPROVAL


def test_requests_and_decisions_are_read_only_in_the_admin(client, lab, user, root):
    ticket = awaiting_ticket(user)
    request = ApprovalRequest.objects.get(ticket=ticket)
    client.force_login(root)
    page = client.get(f"{CHANGELIST}{request.pk}/change/")
    assert page.status_code == 200
    assert b'name="status"' not in page.content
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{request.pk}/delete/", {"post": "yes"}).status_code == 403
