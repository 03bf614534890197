"""Execution end to end: a real `qcluster`, the real lab over stdio MCP, every operation."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from lab.state import LabState
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.dbutil import start_manage, stop, wait_for
from tests.support.execution import action, approved_ticket, lab_policy, lab_world, lab_writes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Every catalogue operation, each against the condition it remedies.
PLAN = [
    ("vm", action("restart_vm", vm="prod-web-01"), ("prod-web-01", "vm_hung")),
    ("vm", action("snapshot_vm", vm="prod-web-02", snapshot_name="pre-fix"), None),
    (
        "vm",
        action("increase_memory", vm="prod-web-03", memory_gb=16),
        ("prod-web-03", "memory_pressure"),
    ),
    ("vm", action("increase_cpu", vm="prod-web-04", cpus=8), ("prod-web-04", "cpu_saturated")),
    ("k8s", action("restart_pod", pod="default/api-3f2a"), ("default/api-3f2a", "crash_looping")),
    (
        "k8s",
        action("scale_deployment", deployment="default/api", replicas=5),
        ("default/api", "saturated"),
    ),
    (
        "k8s",
        action("rollback_deployment", deployment="default/web"),
        ("default/web", "bad_release"),
    ),
    (
        "net",
        action("clear_interface_errors", device="core-sw-01", interface="Gi0/1"),
        ("core-sw-01", "interface_errors", "Gi0/1"),
    ),
    (
        "net",
        action("enable_port", device="core-sw-01", interface="Gi0/2"),
        ("core-sw-01", "err_disabled", "Gi0/2"),
    ),
    (
        "net",
        action("restart_interface", device="core-sw-01", interface="Gi0/3"),
        ("core-sw-01", "flapping", "Gi0/3"),
    ),
    (
        "storage",
        action("expand_volume", volume="vol-data-01", size_gb=2048),
        ("vol-data-01", "volume_full"),
    ),
    (
        "storage",
        action("clear_snapshots", volume="vol-data-02", older_than_days=30, keep_last=1),
        ("vol-data-02", "snapshot_bloat"),
    ),
    (
        "os",
        action("reboot_instance", instance="app-instance-01"),
        ("app-instance-01", "instance_hung"),
    ),
    (
        "os",
        action("resize_instance", instance="app-instance-02", flavor="m1.large"),
        ("app-instance-02", "undersized"),
    ),
]


@pytest.fixture
def lab_path(tmp_path, settings, seeded):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    lab_policy()
    return path


def worker(tmp_path, lab_path):
    return start_manage(
        "qcluster",
        log=tmp_path / "qcluster.log",
        LAB_STATE_PATH=str(lab_path),
        MCP_STDERR_LOG=str(tmp_path / "mcp.log"),
        AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR="1000",
    )


def finished(tickets):
    def check():
        ids = [t.pk for t in tickets]
        return not Ticket.objects.filter(pk__in=ids, status=TicketStatus.REMEDIATING).exists()

    return check


def test_each_of_the_fourteen_operations_executes_and_is_verified_in_the_lab(tmp_path, lab_path):
    for _, _, condition in PLAN:
        if condition:
            call_command(
                "lab",
                "condition",
                *condition[:2],
                *(["--interface", condition[2]] if len(condition) > 2 else []),
            )
    # One ticket per platform group: one lab process per execution, many actions in it.
    groups: dict[str, list] = {}
    for group, act, _ in PLAN:
        groups.setdefault(group, []).append(act)
    tickets = [approved_ticket(actions) for actions in groups.values()]
    proc = worker(tmp_path, lab_path)
    try:
        assert wait_for(finished(tickets), timeout=300), (tmp_path / "qcluster.log").read_text()[
            -3000:
        ]
    finally:
        stop(proc)
    for t in tickets:
        t.refresh_from_db()
        assert t.status == TicketStatus.RESOLVED, (t.suggested_actions, t.status_reason)
        assert t.remediation_results["success"] is True
    writes = lab_writes(lab_path)
    assert sorted(w["tool"] for w in writes) == sorted(a["operation"] for _, a, _ in PLAN)
    world = lab_world(lab_path)["objects"]
    for _, _, condition in PLAN:
        if condition:
            holder = world[condition[0]]
            if len(condition) > 2:
                holder = holder["interfaces"][condition[2]]
            assert holder["condition"] is None, condition
    assert world["prod-web-03"]["memory_gb"] == 16
    assert world["default/web"]["revision"] == 3
    assert world["vol-data-01"]["size_gb"] == 2048
    assert world["app-instance-02"]["flavor"] == "m1.large"
    assert "pre-fix" in world["prod-web-02"]["snapshots"]


def test_a_failure_at_step_two_rolls_back_step_one_and_the_logs_show_it(
    tmp_path, lab_path, client_for, user
):
    call_command("lab", "fault", "fail", "app-instance-03", "--operation", "resize_instance")
    ticket = approved_ticket(
        [
            action("scale_deployment", deployment="default/web", replicas=7),
            action("resize_instance", instance="app-instance-03", flavor="m1.xlarge"),
            action("restart_vm", vm="prod-web-05"),
        ]
    )
    ticket.submitted_by = user
    ticket.save(update_fields=["submitted_by"])
    proc = worker(tmp_path, lab_path)
    try:
        assert wait_for(finished([ticket]), timeout=180), (tmp_path / "qcluster.log").read_text()[
            -3000:
        ]
    finally:
        stop(proc)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PARTIALLY_REMEDIATED, ticket.status_reason
    world = lab_world(lab_path)["objects"]
    assert world["default/web"]["replicas"] == 3
    assert world["app-instance-03"]["flavor"] == "m1.medium"
    assert world["prod-web-05"]["restarts"] == 0
    assert [w["tool"] for w in lab_writes(lab_path)] == ["scale_deployment", "scale_deployment"]

    body = client_for(user).get(f"/api/v1/tickets/{ticket.ticket_id}/remediation-logs").json()
    messages = [e["message"] for e in body["results"]]
    joined = "\n".join(messages)
    for expected in (
        "step 1 scale_deployment on default/web: pre-check passed",
        "step 1 scale_deployment on default/web: executed",
        "step 1 scale_deployment on default/web: post-checks passed",
        "step 2 resize_instance on app-instance-03: failed",
        "rollback of step 1 scale_deployment on default/web: scale_deployment done",
    ):
        assert expected in joined, joined
    assert "step 3" not in joined
    order = [
        next(i for i, m in enumerate(messages) if m.startswith(p))
        for p in (
            "step 1 scale_deployment on default/web: executed",
            "step 2 resize_instance on app-instance-03: failed",
            "rollback of step 1",
        )
    ]
    assert order == sorted(order)
