"""Outcomes that measure correctness: a measured fix must hold for OUTCOME_HOLD_SECONDS.

A fix whose alert fires again within the hold time, or whose cause the delayed re-check
sees again, counts as a failure of its pattern; one that holds is confirmed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from patterns.models import Pattern
from remediation.alerts.models import AlertRecord, AlertStatus
from remediation.audit.models import AuditAction, AuditEvent
from remediation.execution.models import ExecutionState
from remediation.execution.services import CONFIRM_TASK, execution_run
from remediation.tasks import confirm_fix
from remediation.tickets.models import FixEvidence, Ticket, TicketOutcome, TicketStatus
from tests.support.alerts import START, URL, alert, batch
from tests.support.execution import action, approved_ticket, stage
from tests.support.factories import move

pytestmark = pytest.mark.django_db


def fired_and_fixed(api, drain_queue, *, minutes_ago=5):
    """An alert's ticket, analyzed, then fixed by an execution (measured success)."""
    r = api.post(URL, batch(alert()), format="json")
    ticket = Ticket.objects.get(ticket_id=r.json()["results"][0]["ticket_id"])
    drain_queue()
    ticket.refresh_from_db()
    move(ticket, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS, executed=True)
    Ticket.objects.filter(pk=ticket.pk).update(
        resolved_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    api.post(
        URL, batch(alert(status="resolved", ends_at=START + timedelta(minutes=3))), format="json"
    )
    return Ticket.objects.select_related("pattern").get(pk=ticket.pk)


def fire_again(api):
    again = alert(starts_at=START + timedelta(hours=2))  # a new firing of the same alert
    return api.post(URL, batch(again), format="json")


def test_a_fix_whose_alert_fires_again_within_the_hold_time_counts_as_failed(
    seeded, api, drain_queue, settings
):
    settings.OUTCOME_HOLD_SECONDS = 3600
    ticket = fired_and_fixed(api, drain_queue)
    pattern = Pattern.objects.get(pk=ticket.pattern_id)
    assert (pattern.success_count, pattern.failure_count) == (1, 0)

    r = fire_again(api)
    assert r.json()["results"][0]["outcome"] == "created"  # a new incident, analyzed anew
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.FAILED, TicketOutcome.FAILURE)
    assert "The fix did not hold" in ticket.status_reason
    pattern.refresh_from_db()
    assert (pattern.success_count, pattern.failure_count) == (0, 1)
    assert AuditEvent.objects.filter(ticket=ticket, action=AuditAction.FIX_DID_NOT_HOLD).exists()


def test_an_incident_back_after_the_hold_time_is_a_new_one(seeded, api, drain_queue, settings):
    settings.OUTCOME_HOLD_SECONDS = 3600
    ticket = fired_and_fixed(api, drain_queue, minutes_ago=90)
    fire_again(api)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.RESOLVED, TicketOutcome.SUCCESS)


def test_a_fix_a_person_confirmed_is_never_moved(seeded, api, drain_queue, settings):
    settings.OUTCOME_HOLD_SECONDS = 3600
    r = api.post(URL, batch(alert()), format="json")
    ticket = Ticket.objects.get(ticket_id=r.json()["results"][0]["ticket_id"])
    drain_queue()
    ticket.refresh_from_db()
    move(ticket, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS)  # by hand, not run
    fire_again(api)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def observed(vm: str) -> dict:
    return {
        "cause": "hung",
        "cause_label": "process or guest hung while its host is healthy",
        "established": True,
        "basis": "observed",
        "observed_target": {"kind": "vm", "name": vm},
    }


def test_the_delayed_recheck_confirms_a_fix_that_held(lab_path, policy, settings):
    settings.OUTCOME_HOLD_SECONDS = 3600
    stage(lab_path, condition=("prod-web-04", "vm_hung"))
    ticket = approved_ticket([action("restart_vm", vm="prod-web-04")])
    Ticket.objects.filter(pk=ticket.pk).update(diagnosis=observed("prod-web-04"))
    assert execution_run(ticket.pk) == ExecutionState.SUCCEEDED
    # The success scheduled its own confirmation at the end of the hold time.
    [confirm] = Schedule.objects.filter(func=CONFIRM_TASK)
    assert confirm.schedule_type == Schedule.ONCE
    assert abs(confirm.next_run - (timezone.now() + timedelta(hours=1))) < timedelta(minutes=1)

    assert confirm_fix(ticket.pk) == "held"  # the restart fixed it: the hang is not seen
    ticket.refresh_from_db()
    assert ticket.fix_held_at is not None and ticket.status == TicketStatus.RESOLVED
    assert confirm_fix(ticket.pk) == "nothing to confirm"


def test_the_delayed_recheck_fails_a_fix_whose_cause_is_back(lab_path, policy, settings):
    settings.OUTCOME_HOLD_SECONDS = 3600
    stage(lab_path, condition=("prod-web-05", "vm_hung"))
    ticket = approved_ticket([action("restart_vm", vm="prod-web-05")])
    Ticket.objects.filter(pk=ticket.pk).update(diagnosis=observed("prod-web-05"))
    assert execution_run(ticket.pk) == ExecutionState.SUCCEEDED
    stage(lab_path, condition=("prod-web-05", "vm_hung"))  # it hung again within the hour

    assert confirm_fix(ticket.pk) == "did not hold"
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.FAILED, TicketOutcome.FAILURE)
    assert "is seen again on the same object" in ticket.status_reason


def test_no_hold_means_the_post_checks_alone_decide(lab_path, policy, settings):
    settings.OUTCOME_HOLD_SECONDS = 0
    stage(lab_path, condition=("prod-web-06", "vm_hung"))
    ticket = approved_ticket([action("restart_vm", vm="prod-web-06")])
    assert execution_run(ticket.pk) == ExecutionState.SUCCEEDED
    assert not Schedule.objects.filter(func=CONFIRM_TASK).exists()


def test_an_alert_that_resolved_while_the_post_checks_ran_confirms_the_fix_at_once(
    lab_path, policy, settings
):
    settings.OUTCOME_HOLD_SECONDS = 3600
    stage(lab_path, condition=("prod-web-07", "vm_hung"))
    ticket = approved_ticket([action("restart_vm", vm="prod-web-07")])
    now = timezone.now()
    AlertRecord.objects.create(
        key="am-0123456789abcdef-x",
        fingerprint="0123456789abcdef",
        starts_at=now - timedelta(minutes=10),
        labels={"alertname": "InstanceDown", "instance": "prod-web-07:9100"},
        ticket=ticket,
        submitted_by=ticket.submitted_by,
        status=AlertStatus.RESOLVED,
        ends_at=now,
        resolved_at=now,
    )
    assert execution_run(ticket.pk) == ExecutionState.SUCCEEDED
    ticket.refresh_from_db()
    assert ticket.fix_held_by == FixEvidence.ALERT_RESOLVED and ticket.fix_held_at is not None
    assert AuditEvent.objects.filter(
        ticket=ticket, action=AuditAction.FIX_CONFIRMED_BY_ALERT
    ).exists()
    # The hold's re-check still runs at its time; the environment already confirmed it.
    assert Schedule.objects.filter(func=CONFIRM_TASK).count() == 1
    assert confirm_fix(ticket.pk) == "nothing to confirm"
