"""An execution that fails and rolls back leaves the lab as it found it, the condition
included; the rollback is verified by the settings it puts back, not by the symptom."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from lab import control
from remediation.execution.models import ExecutionState, ExecutionStep, StepKind
from remediation.execution.services import execution_run
from remediation.tickets.models import TicketStatus
from tests.support.execution import action, approved_ticket, stage

pytestmark = pytest.mark.django_db


def looked_at(lab_path, monkeypatch, target):
    """The control server's ``target_state`` and ``condition_status`` of the target."""
    monkeypatch.setenv("LAB_STATE_PATH", str(lab_path))

    async def go():
        async with Client(control.control) as client:
            state = await client.call_tool("target_state", {"target": target})
            condition = await client.call_tool("condition_status", {"target": target})
        return state.structured_content, condition.structured_content

    return anyio.run(go)


def test_a_failed_post_check_rolls_back_to_the_condition_the_target_had(
    lab_path, policy, monkeypatch
):
    stage(lab_path, condition=("default/api", "saturated"))
    stage(lab_path, fault={"kind": "postcheck_fail", "target": "default/api"})
    before = looked_at(lab_path, monkeypatch, "default/api")

    ticket = approved_ticket([action("scale_deployment", deployment="default/api", replicas=5)])
    assert ticket.status == TicketStatus.REMEDIATING
    assert execution_run(ticket.pk) == ExecutionState.ROLLED_BACK

    after = looked_at(lab_path, monkeypatch, "default/api")
    assert after[1]["condition"] == "saturated"
    assert after == before
    rollback = ExecutionStep.objects.get(execution__ticket=ticket, kind=StepKind.ROLLBACK)
    assert (rollback.operation, rollback.state) == ("scale_deployment", "succeeded")
    assert rollback.params == {"deployment": "default/api", "replicas": 2}
    assert rollback.postcheck["passed"] is True
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.PARTIALLY_REMEDIATED, "failure")


def test_a_later_step_failing_rolls_a_bad_release_forward_again(lab_path, policy, monkeypatch):
    stage(lab_path, condition=("default/web", "bad_release"))
    stage(
        lab_path,
        fault={"kind": "fail", "target": "app-instance-02", "operation": "resize_instance"},
    )
    before = looked_at(lab_path, monkeypatch, "default/web")
    ticket = approved_ticket(
        [
            action("rollback_deployment", deployment="default/web"),
            action("resize_instance", instance="app-instance-02", flavor="m1.large"),
        ]
    )
    assert execution_run(ticket.pk) == ExecutionState.ROLLED_BACK
    assert looked_at(lab_path, monkeypatch, "default/web") == before
