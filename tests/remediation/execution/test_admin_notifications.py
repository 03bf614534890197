"""Administrators are mailed once about each failure, rollback and opened circuit breaker:
from a task, after the change committed, through the one notification path (locmem mail)."""

from __future__ import annotations

from typing import cast

import pytest
from django.core import mail

from patterns.models import Pattern
from remediation.audit.models import AuditAction, AuditEvent
from remediation.execution.models import ExecutionState
from remediation.execution.services import execution_run
from remediation.notifications.models import AdminNotice
from remediation.notifications.services import admins_notify
from tests.support.execution import action, approved_ticket, lab_policy, stage
from tests.support.factories import PatternFactory
from tests.support.queue import drain

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ADMINS = [("Ops", "ops@example.com")]
    mail.outbox = []
    return mail.outbox


def mails_after_every_delivery(outbox, ticket_pk: int) -> list:
    """Deliver everything queued, then the same work again (a re-delivered run task and a
    re-delivered notification task): what the administrators received in the end."""
    drain()
    assert execution_run(ticket_pk).startswith("skipped")
    for notice in AdminNotice.objects.all():
        assert admins_notify(notice.pk).startswith("skipped")
    drain()
    return list(outbox)


def test_a_rollback_mails_the_administrators_once_after_commit(lab_path, policy, outbox):
    stage(
        lab_path,
        fault={"kind": "fail", "target": "app-instance-02", "operation": "resize_instance"},
    )
    ticket = approved_ticket(
        [
            action("scale_deployment", deployment="default/web", replicas=6),
            action("resize_instance", instance="app-instance-02", flavor="m1.large"),
        ]
    )
    assert execution_run(ticket.pk) == ExecutionState.ROLLED_BACK
    assert outbox == []  # the change committed; the mail waits for its task

    sent = mails_after_every_delivery(outbox, ticket.pk)
    assert len(sent) == 1
    assert sent[0].to == ["ops@example.com"]
    assert ticket.ticket_id in sent[0].subject and "rolled back" in sent[0].subject
    assert "rolled back what ran" in sent[0].body
    notified = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.ADMINS_NOTIFIED)
    assert notified.count() == 1


def test_a_failure_mails_the_administrators_once(lab_path, policy, outbox):
    stage(lab_path, fault={"kind": "maintenance", "target": "prod-web-03"})
    ticket = approved_ticket([action("restart_vm", vm="prod-web-03")])
    assert execution_run(ticket.pk) == ExecutionState.FAILED
    assert outbox == []
    sent = mails_after_every_delivery(outbox, ticket.pk)
    assert len(sent) == 1
    assert "remediation failed" in sent[0].subject and "maintenance" in sent[0].body


def test_a_success_mails_nobody(lab_path, policy, outbox):
    ticket = approved_ticket([action("reboot_instance", instance="app-instance-01")])
    assert execution_run(ticket.pk) == ExecutionState.SUCCEEDED
    assert mails_after_every_delivery(outbox, ticket.pk) == []


def test_an_opened_circuit_breaker_mails_once_not_at_each_refusal(lab_path, db, seeded, outbox):
    lab_policy(circuit_breaker_threshold=1)
    pattern = cast(Pattern, PatternFactory(category="lab"))
    first = approved_ticket([action("restart_vm", vm="prod-web-06")], pattern=pattern)
    assert execution_run(first.pk) == ExecutionState.SUCCEEDED
    opening = approved_ticket([action("restart_vm", vm="prod-web-06")], pattern=pattern)
    assert execution_run(opening.pk).startswith("refused: circuit breaker opened")
    assert outbox == []
    # Refused again while it stays open: no new mail.
    later = approved_ticket([action("restart_vm", vm="prod-web-06")], pattern=pattern)
    assert "is open" in execution_run(later.pk)
    drain()
    for notice in AdminNotice.objects.all():
        assert admins_notify(notice.pk).startswith("skipped")
    assert len(outbox) == 1
    assert "Circuit breaker opened" in outbox[0].subject
    assert "prod-web-06" in outbox[0].subject
    assert "re-arms" in outbox[0].body
