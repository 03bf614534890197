"""Check before dispatch: just before a write, the choke point looks again (through the lab's
read-only tools over MCP) at the object the cause was observed on. Gone or changed: nothing
is written, the ticket says why; an approval given on that evidence no longer applies."""

from __future__ import annotations

import pytest

from remediation.execution.models import ExecutionState
from remediation.execution.services import execution_run
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.execution import action, approved_ticket, lab_writes, stage

pytestmark = pytest.mark.django_db


def observed(vm: str, cause: str = "hung") -> dict:
    return {
        "cause": cause,
        "cause_label": "process or guest hung while its host is healthy",
        "established": True,
        "basis": "observed",
        "observed_target": {"kind": "vm", "name": vm},
    }


def ticket_on(vm: str, *, via: str = "auto", cause: str = "hung") -> Ticket:
    ticket = approved_ticket([action("restart_vm", vm=vm)], via=via)
    Ticket.objects.filter(pk=ticket.pk).update(diagnosis=observed(vm, cause))
    return ticket


def test_the_cause_still_seen_lets_the_write_run(lab_path, policy):
    stage(lab_path, condition=("prod-web-04", "vm_hung"))
    ticket = ticket_on("prod-web-04")
    assert execution_run(ticket.pk) == ExecutionState.SUCCEEDED
    assert [w["tool"] for w in lab_writes(lab_path)] == ["restart_vm"]


def test_a_cause_gone_since_the_analysis_writes_nothing_and_says_why(lab_path, policy):
    ticket = ticket_on("prod-web-05")  # the VM recovered by itself: the lab shows it healthy
    assert execution_run(ticket.pk).startswith("refused: checked again just before writing")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "no longer seen" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_a_changed_cause_voids_the_approval_given_on_it(lab_path, policy):
    stage(lab_path, condition=("prod-web-06", "memory_pressure"))
    ticket = ticket_on("prod-web-06", via="approval")
    assert execution_run(ticket.pk).startswith("refused")
    ticket.refresh_from_db()
    assert "now shows memory_undersized" in ticket.status_reason
    assert "the approval was given on that evidence and no longer applies" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_a_platform_that_does_not_answer_now_fails_closed(lab_path, policy):
    stage(lab_path, fault={"kind": "unreachable", "target": "prod-web-07"})
    ticket = ticket_on("prod-web-07")
    assert execution_run(ticket.pk).startswith("refused")
    ticket.refresh_from_db()
    assert "could not look again at prod-web-07" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_a_capacity_action_below_what_runs_now_is_not_written(lab_path, policy):
    """Approved: scale default/web to 4. Meanwhile someone scaled it to 6 and it is still
    saturated: writing 4 would cut capacity, so nothing is written."""
    from lab import engine
    from lab.state import LabState

    with LabState(lab_path).tx() as tx:
        engine.set_condition(tx.world, "default/web", "saturated")
        tx.world["objects"]["default/web"]["replicas"] = 6
        tx.save()
    ticket = approved_ticket(
        [action("scale_deployment", deployment="default/web", replicas=4)], via="approval"
    )
    diagnosis = {
        "cause": "load_spike",
        "cause_label": "more load than the replicas can serve",
        "established": True,
        "basis": "observed",
        "observed_target": {"kind": "deployment", "name": "default/web"},
    }
    Ticket.objects.filter(pk=ticket.pk).update(diagnosis=diagnosis)
    assert execution_run(ticket.pk).startswith("refused")
    ticket.refresh_from_db()
    assert "scaling out must add replicas (replicas is 6 now; 4 was proposed)" in (
        ticket.status_reason
    )
    assert lab_writes(lab_path) == []
