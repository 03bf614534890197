"""20 approvers press Approve on a 1-approval request at the same instant: exactly one
approval counts, exactly one execution is requested, and the other 19 are told the ticket
was already decided.

Part of it needs the real execution of issue [5/10] (branch issue8): where the placeholder
``remediation.execution.services`` is installed, the assertions on what ran in the lab are
skipped, and say so.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_q.models import Success
from rest_framework.test import APIClient

from remediation.accounts.models import ApiToken
from remediation.approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from remediation.audit.models import AuditAction, AuditEvent
from remediation.connectors import registry
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.approvals import approver, awaiting_ticket
from tests.support.doubles import LabDouble
from tests.support.factories import UserFactory
from tests.support.queue import drain

APPROVERS = 20


def race():
    submitter = UserFactory(username="submitter")
    with registry.use(LabDouble()):
        ticket = awaiting_ticket(submitter, ticket_id="INC-RUSH", affected_system="prod-web-01")
    tokens = [
        ApiToken.objects.create(user=approver(f"approver{i}"), name="approver")[1]
        for i in range(APPROVERS)
    ]
    barrier = threading.Barrier(APPROVERS)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def press(key: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        try:
            barrier.wait(timeout=30)
            r = client.post(
                f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
                {"approve": True, "comment": "go"},
                format="json",
            )
            with lock:
                answers.append((r.status_code, r.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(k,)) for k in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    return ticket, answers


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_approvals_request_exactly_one_execution(seeded):
    ticket, answers = race()
    statuses = sorted(code for code, _ in answers)
    assert statuses == [200] + [409] * (APPROVERS - 1), answers
    winner = next(body for code, body in answers if code == 200)
    assert winner["execution_requested"] is True
    assert all(
        body["error"]["code"] == "not_awaiting_approval" for code, body in answers if code == 409
    )
    assert ApprovalDecision.objects.count() == 1
    assert ApprovalRequest.objects.get(ticket=ticket).status == ApprovalStatus.APPROVED
    requested = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.EXECUTION_REQUESTED)
    assert requested.count() == 1
    assert (
        AuditEvent.objects.filter(ticket=ticket, action=AuditAction.APPROVAL_GRANTED).count() == 1
    )
    assert Ticket.objects.get(pk=ticket.pk).status != TicketStatus.AWAITING_APPROVAL


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_approvals_run_the_actions_in_the_lab_exactly_once(seeded):
    ticket, answers = race()
    assert sorted(code for code, _ in answers) == [200] + [409] * (APPROVERS - 1)
    drain()  # the worker runs what the choke point enqueued (and any duplicate delivery)
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == TicketStatus.RESOLVED, ticket.status_reason
    assert ticket.auto_remediation_executed is True
    executions = Success.objects.filter(func__startswith="remediation.execution")
    assert executions.count() == 1
