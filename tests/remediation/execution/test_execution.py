"""Executing through the choke point against the real lab over real stdio MCP."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from remediation.audit.models import AuditAction, AuditEvent
from remediation.connectors.models import PlatformConnector
from remediation.execution.models import Execution, ExecutionState, ExecutionStep, StepKind
from remediation.execution.services import (
    execution_observe,
    execution_reconcile,
    execution_run,
)
from remediation.tickets.models import TicketStatus
from tests.conftest import make_teacher
from tests.support.execution import action, approved_ticket, lab_world, lab_writes, stage
from tests.support.factories import UserFactory
from tests.support.queue import drain

pytestmark = pytest.mark.django_db


def _closed_window(policy) -> None:
    hour = timezone.now().hour
    policy.allowed_hours_start, policy.allowed_hours_end = (hour + 2) % 24, (hour + 3) % 24
    policy.save()


def test_a_person_approved_run_is_not_held_to_the_policys_time_window(lab_path, policy):
    """The window is for the machine: what a person approved runs outside it."""
    _closed_window(policy)
    stage(lab_path, condition=("prod-web-01", "vm_hung"))
    ticket = approved_ticket([action("restart_vm", vm="prod-web-01")], via="approval")

    drain()

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED, ticket.status_reason
    assert [w["tool"] for w in lab_writes(lab_path)] == ["restart_vm"]


def test_an_automatic_run_is_refused_outside_the_policys_time_window(lab_path, policy):
    _closed_window(policy)
    stage(lab_path, condition=("prod-web-01", "vm_hung"))
    ticket = approved_ticket([action("restart_vm", vm="prod-web-01")], via="auto")

    drain()

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "outside the allowed time window" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_an_approved_ticket_executes_on_the_lab_and_is_resolved(lab_path, policy):
    stage(lab_path, condition=("prod-web-01", "vm_hung"))
    ticket = approved_ticket([action("restart_vm", vm="prod-web-01")])
    assert ticket.status == TicketStatus.REMEDIATING

    assert drain() >= 1  # the queued task, through django-q2's worker code

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED, ticket.status_reason
    assert ticket.outcome == "success"
    assert ticket.auto_remediation_executed is True
    assert ticket.remediation_results["success"] is True
    assert ticket.remediation_results["simulated"] is True
    assert ticket.remediation_results["executed_actions"][0]["operation"] == "restart_vm"
    vm = lab_world(lab_path)["objects"]["prod-web-01"]
    assert vm["restarts"] == 1 and vm["condition"] is None
    assert [w["key"] for w in lab_writes(lab_path)] == [f"{ticket.ticket_id}:1:0"]
    trail = list(AuditEvent.objects.filter(ticket=ticket).values_list("action", flat=True))
    for expected in (
        AuditAction.EXECUTION_REQUESTED,
        AuditAction.EXECUTION_CLAIMED,
        AuditAction.STEP_PRECHECKED,
        AuditAction.STEP_EXECUTED,
        AuditAction.STEP_VERIFIED,
        AuditAction.EXECUTION_FINISHED,
    ):
        assert expected in trail
    assert trail.index(AuditAction.EXECUTION_CLAIMED) < trail.index(AuditAction.STEP_EXECUTED)


def test_a_second_delivery_runs_nothing(lab_path, policy):
    ticket = approved_ticket([action("reboot_instance", instance="app-instance-01")])
    assert execution_run(ticket.pk) == ExecutionState.SUCCEEDED
    assert execution_run(ticket.pk).startswith("skipped")
    assert len(lab_writes(lab_path)) == 1


def test_a_failure_at_step_two_stops_and_rolls_back_step_one(lab_path, policy):
    stage(
        lab_path,
        fault={"kind": "fail", "target": "app-instance-02", "operation": "resize_instance"},
    )
    ticket = approved_ticket(
        [
            action("scale_deployment", deployment="default/web", replicas=6),
            action("resize_instance", instance="app-instance-02", flavor="m1.large"),
            action("restart_vm", vm="prod-web-02"),
        ]
    )
    assert execution_run(ticket.pk) == ExecutionState.ROLLED_BACK
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PARTIALLY_REMEDIATED
    assert ticket.outcome == "failure"
    assert ticket.auto_remediation_executed is True
    world = lab_world(lab_path)["objects"]
    assert world["default/web"]["replicas"] == 3  # scaled to 6, then back to what it was
    assert world["app-instance-02"]["flavor"] == "m1.medium"
    assert world["prod-web-02"]["restarts"] == 0  # step 3 never ran
    tools = [w["tool"] for w in lab_writes(lab_path)]
    assert tools == ["scale_deployment", "scale_deployment"]
    steps = ExecutionStep.objects.filter(execution__ticket=ticket).order_by("index")
    assert [(s.kind, s.operation, s.state) for s in steps] == [
        (StepKind.ACTION, "scale_deployment", "succeeded"),
        (StepKind.ACTION, "resize_instance", "failed"),
        (StepKind.ROLLBACK, "scale_deployment", "succeeded"),
    ]
    assert steps[2].params == {"deployment": "default/web", "replicas": 3}
    drain()  # the administrators' notification (its mail: test_admin_notifications.py)
    assert AuditEvent.objects.filter(ticket=ticket, action=AuditAction.ADMINS_NOTIFIED).exists()


def test_a_failed_post_check_rolls_back_the_step_itself(lab_path, policy):
    stage(lab_path, fault={"kind": "postcheck_fail", "target": "default/api"})
    ticket = approved_ticket([action("scale_deployment", deployment="default/api", replicas=5)])
    assert execution_run(ticket.pk) == ExecutionState.ROLLED_BACK
    assert lab_world(lab_path)["objects"]["default/api"]["replicas"] == 2


def test_nothing_runs_when_the_pre_check_refuses_and_the_ticket_fails(lab_path, policy):
    stage(lab_path, fault={"kind": "maintenance", "target": "prod-web-03"})
    ticket = approved_ticket([action("restart_vm", vm="prod-web-03")])
    assert execution_run(ticket.pk) == ExecutionState.FAILED
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.FAILED
    assert ticket.auto_remediation_executed is False
    assert "maintenance" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_a_hung_call_ends_unknown_within_the_timeout_and_is_not_retried(lab_path, policy):
    PlatformConnector.objects.filter(platform="vmware").update(timeout_seconds=2)
    stage(lab_path, fault={"kind": "hang", "target": "prod-web-04", "seconds": 60})
    ticket = approved_ticket([action("restart_vm", vm="prod-web-04")])
    assert execution_run(ticket.pk) == ExecutionState.UNKNOWN
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert ticket.outcome == "unknown"
    assert ticket.auto_remediation_executed is True
    assert "unknown" in ticket.status_reason.lower()
    assert execution_run(ticket.pk).startswith("skipped")
    # The lab did make the change: exactly the case a person must reconcile.
    assert len(lab_writes(lab_path)) == 1

    # A person looks (read-only tools only) and settles it.
    execution = Execution.objects.get(ticket=ticket)
    observed = execution_observe(execution)
    assert observed[0]["post_checks_pass"] is True
    # What the connector's listed read-only tools show: the guest restarted a minute ago.
    events = observed[0]["state"]["get_vm_events"]["events"]
    assert any(e["message"] == "Guest OS restarted" for e in events)
    execution_reconcile(
        execution, worked=True, acting_user=make_teacher(UserFactory()), note="VM is back"
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.RESOLVED, "success")
    assert len(lab_writes(lab_path)) == 1


def test_a_platform_without_a_connector_fails_closed(lab_path, policy):
    PlatformConnector.objects.filter(platform="storage").update(enabled=False)
    ticket = approved_ticket([action("expand_volume", volume="vol-data-01", size_gb=2048)])
    assert execution_run(ticket.pk).startswith("refused: no connector")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert Execution.objects.get(ticket=ticket).state == ExecutionState.REFUSED
    assert lab_writes(lab_path) == []


def test_a_target_outside_the_lab_never_executes(lab_path, policy):
    ticket = approved_ticket([action("restart_vm", vm="prod-mail-99")])
    assert execution_run(ticket.pk) == ExecutionState.FAILED
    ticket.refresh_from_db()
    assert "not in the lab's inventory" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_a_word_the_policy_forbade_after_the_decision_refuses_the_claim(lab_path, policy):
    """The claim asks the decision's own policy rule again, forbidden words included."""
    ticket = approved_ticket([action("restart_vm", vm="prod-web-04")])
    policy.forbidden_commands = ["restart"]
    policy.save()

    outcome = execution_run(ticket.pk)

    assert outcome.startswith("refused: policy ") and "does not allow this" in outcome
    assert "restart_vm on prod-web-04 mentions forbidden restart" in outcome
    assert lab_writes(lab_path) == []


def test_an_action_type_the_policy_dropped_after_the_decision_refuses_the_claim(lab_path, policy):
    ticket = approved_ticket([action("restart_vm", vm="prod-web-04")])
    policy.allowed_action_types = ["read_only"]
    policy.save()

    outcome = execution_run(ticket.pk)

    assert "is safe_write, which policy lab-policy does not allow" in outcome
    assert lab_writes(lab_path) == []


def test_a_threshold_the_policy_raised_after_the_decision_refuses_the_claim(lab_path, policy):
    """The claim asks the policy's thresholds as well as its rules (the one function the
    review queue asks too): what falls below them does not run, approved or not."""
    ticket = approved_ticket([action("restart_vm", vm="prod-web-04")])  # scored 95, 0.95
    policy.min_reliability_score = 96.0
    policy.min_confidence_score = 0.99
    policy.save()

    outcome = execution_run(ticket.pk)

    assert outcome.startswith("refused: policy lab-policy does not allow this"), outcome
    assert "reliability 95% < the policy's 96%" in outcome
    assert "confidence 95% < the policy's 99%" in outcome
    assert lab_writes(lab_path) == []


def test_queued_and_refused_executions_use_no_budget(lab_path, policy, settings):
    """The budget counts claimed executions only: the others waiting in the queue leave the
    hour's whole budget to the first one claimed, and a refusal uses none of it."""
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 1
    waiting = [approved_ticket([action("restart_vm", vm="prod-web-06")]) for _ in range(3)]

    assert execution_run(waiting[0].pk) == ExecutionState.SUCCEEDED
    second = execution_run(waiting[1].pk)

    assert second.startswith("refused: 1 actions started in the last hour plus 1")
    assert execution_run(waiting[2].pk).startswith("refused: 1 actions started")
    assert len(lab_writes(lab_path)) == 1


def test_the_kill_switch_stops_queued_work(lab_path, policy, settings):
    ticket = approved_ticket([action("restart_vm", vm="prod-web-05")])
    settings.AUTO_REMEDIATION_ENABLED = False
    drain()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "switched off" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_the_circuit_breaker_opens_after_the_threshold_and_needs_a_person(lab_path, db, seeded):
    from patterns.models import Pattern
    from remediation.execution.models import CircuitBreaker
    from remediation.execution.services import breaker_rearm
    from tests.support.execution import lab_policy
    from tests.support.factories import PatternFactory, UserFactory

    lab_policy(circuit_breaker_threshold=2)
    pattern: Pattern = PatternFactory(category="lab")
    outcomes = []
    for _ in range(3):
        t = approved_ticket([action("restart_vm", vm="prod-web-06")], pattern=pattern)
        outcomes.append(execution_run(t.pk))
    assert outcomes[:2] == [ExecutionState.SUCCEEDED, ExecutionState.SUCCEEDED]
    assert outcomes[2].startswith("refused: circuit breaker opened")
    breaker = CircuitBreaker.objects.get(pattern=pattern, target="prod-web-06")
    assert breaker.is_open
    t = approved_ticket([action("restart_vm", vm="prod-web-06")], pattern=pattern)
    assert "is open" in execution_run(t.pk)
    assert breaker_rearm(breaker, acting_user=UserFactory(username="oncall"))
    t = approved_ticket([action("restart_vm", vm="prod-web-06")], pattern=pattern)
    assert execution_run(t.pk) == ExecutionState.SUCCEEDED
    assert len(lab_writes(lab_path)) == 3


def _unknown_execution(lab_path):
    PlatformConnector.objects.filter(platform="vmware").update(timeout_seconds=2)
    stage(lab_path, fault={"kind": "hang", "target": "prod-web-04", "seconds": 60})
    ticket = approved_ticket([action("restart_vm", vm="prod-web-04")])
    assert execution_run(ticket.pk) == ExecutionState.UNKNOWN
    return ticket, Execution.objects.get(ticket=ticket)


@pytest.mark.parametrize("who", ["outsider", "submitter"])
def test_only_a_trusted_person_not_the_submitter_settles_an_unknown_outcome(lab_path, policy, who):
    """The probe ran `reconcile_execution KEY --worked --user outsider` and the ticket was
    resolved as a success. Settling teaches like feedback, so it asks the same."""
    ticket, execution = _unknown_execution(lab_path)
    if who == "outsider":
        UserFactory(username="outsider")
    else:
        make_teacher(ticket.submitted_by)
    username = "outsider" if who == "outsider" else ticket.submitted_by.username
    with pytest.raises(CommandError, match="may not settle"):
        call_command(
            "reconcile_execution", execution.key, "--worked", "--user", username, stdout=StringIO()
        )
    ticket.refresh_from_db()
    execution.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.MANUAL_REVIEW, "unknown")
    assert execution.state == ExecutionState.UNKNOWN
    assert not AuditEvent.objects.filter(action=AuditAction.EXECUTION_RECONCILED).exists()

    make_teacher(UserFactory(username="oncall"))
    call_command(
        "reconcile_execution", execution.key, "--failed", "--user", "oncall", stdout=StringIO()
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.FAILED, "failure")


def test_only_a_member_of_the_owning_team_settles_an_unknown_outcome(lab_path, policy):
    """Settling an unknown outcome teaches the pattern like trusted feedback, so a ticket a
    team owns is settled only by one of its members: a teacher of another team is refused,
    nothing changes, and a member then settles it."""
    from policies.models import Team

    ticket, execution = _unknown_execution(lab_path)
    owners = Team.objects.create(name="compute", categories=[ticket.category])
    other = Team.objects.create(name="network", categories=["network"])
    stranger = make_teacher(UserFactory(username="stranger"))
    other.members.add(stranger)
    with pytest.raises(CommandError, match="belongs to team compute"):
        call_command(
            "reconcile_execution",
            execution.key,
            "--worked",
            "--user",
            "stranger",
            stdout=StringIO(),
        )
    ticket.refresh_from_db()
    execution.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.MANUAL_REVIEW, "unknown")
    assert execution.state == ExecutionState.UNKNOWN
    assert not AuditEvent.objects.filter(action=AuditAction.EXECUTION_RECONCILED).exists()

    member = make_teacher(UserFactory(username="member"))
    owners.members.add(member)
    call_command(
        "reconcile_execution", execution.key, "--worked", "--user", "member", stdout=StringIO()
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.RESOLVED, "success")
