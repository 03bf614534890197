"""The lab shows symptoms, not answers: every condition staged on every kind of object, every
read tool a connector may call, and not one answer names the condition or its remedy."""

from __future__ import annotations

import json
import re

import anyio
import pytest
from mcp import Client

from lab import engine, server, signals
from lab.inventory import default_hosts, default_inventory
from lab.state import LabState

# Which read tools show an object of each kind (and its relatives), as a connector lists them.
READS = {
    "vm": [("get_vm", "vm"), ("get_vm_metrics", "vm"), ("get_vm_events", "vm")],
    "pod": [("get_pod", "pod"), ("get_pod_logs", "pod")],
    "deployment": [("get_deployment", "deployment")],
    "volume": [("get_volume", "volume")],
    "instance": [("get_instance", "instance")],
}
SAMPLE = {
    "vm": "prod-web-03",
    "pod": "default/web-5c4b",
    "deployment": "default/api",
    "volume": "vol-data-02",
    "instance": "app-instance-02",
    "interface": "core-sw-02 Gi0/3",
}
NAMES = sorted(
    {c for cs in engine.CONDITIONS_BY_KIND.values() for c in cs} | set(engine.OPERATIONS)
)
FORBIDDEN = re.compile("|".join(rf"\b{re.escape(n)}\b" for n in NAMES), re.IGNORECASE)


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_PATH", str(tmp_path / "lab.sqlite3"))
    return LabState(tmp_path / "lab.sqlite3")


def read_everything(world) -> str:
    """Every read tool's answer for every object, as one text."""
    answers = []
    for name, obj in world["objects"].items():
        kind = obj["kind"]
        if kind == "device":
            answers.append(signals.device_summary(world, name))
            for interface in obj["interfaces"]:
                answers.append(signals.interface_summary(world, name, interface))
            continue
        for tool, _ in READS[kind]:
            reader = server_readers()[tool]
            answers.append(reader(world, name))
    for host in world["hosts"]:
        answers.append(signals.host_summary(world, host))
    return json.dumps(answers)


def server_readers():
    return {
        "get_vm": signals.vm_summary,
        "get_vm_metrics": signals.vm_metrics,
        "get_vm_events": signals.vm_events,
        "get_pod": signals.pod_summary,
        "get_pod_logs": signals.pod_logs,
        "get_deployment": signals.deployment_summary,
        "get_volume": signals.volume_summary,
        "get_instance": signals.instance_summary,
    }


@pytest.mark.parametrize(
    ("kind", "condition"),
    [(k, c) for k, cs in engine.CONDITIONS_BY_KIND.items() for c in cs],
)
def test_no_read_names_the_staged_condition_or_the_operation_that_clears_it(kind, condition):
    world = {"objects": default_inventory(), "hosts": default_hosts()}
    target, _, interface = SAMPLE[kind].partition(" ")
    engine.set_condition(world, target, condition, interface or None)

    text = read_everything(world)

    assert not FORBIDDEN.search(text), FORBIDDEN.search(text)


def test_the_readings_differ_between_look_alikes_and_from_health():
    """A hung VM and a swapping one both stop answering; the readings still tell them apart."""

    def vm(condition):
        world = {"objects": default_inventory(), "hosts": default_hosts()}
        if condition:
            engine.set_condition(world, "prod-web-01", condition)
        return signals.vm_summary(world, "prod-web-01"), signals.vm_metrics(world, "prod-web-01")

    (hung, hung_m), (swap, swap_m), (well, well_m) = vm("vm_hung"), vm("memory_pressure"), vm(None)
    assert hung["guest_heartbeat"] == "red" and hung["tools_status"] == "toolsNotRunning"
    assert swap["tools_status"] == "toolsOk" and swap_m["swap_used_pct"] > 60
    assert hung_m["guest_memory_used_pct"] < 90 < swap_m["guest_memory_used_pct"]
    assert well["guest_heartbeat"] == "green" and well_m["swap_used_pct"] < 5


def test_an_oom_kill_and_a_wedged_process_both_exit_137_and_differ_in_reason_and_events():
    def pod(condition):
        world = {"objects": default_inventory(), "hosts": default_hosts()}
        engine.set_condition(world, "default/web-7d9f", condition)
        return signals.pod_summary(world, "default/web-7d9f")

    oom, wedged = pod("oom_killed"), pod("crash_looping")
    assert oom["last_termination"]["exit_code"] == wedged["last_termination"]["exit_code"] == 137
    assert oom["last_termination"]["reason"] == "OOMKilled"
    assert wedged["last_termination"]["reason"] == "Error"
    assert any("Liveness probe failed" in e["message"] for e in wedged["events"])


def test_the_readings_are_repeatable_for_the_same_staging():
    world = {"objects": default_inventory(), "hosts": default_hosts()}
    assert signals.vm_metrics(world, "prod-web-02") == signals.vm_metrics(world, "prod-web-02")


def test_a_write_answer_says_what_changed_never_which_condition_it_cleared(lab):
    with lab.tx() as tx:
        engine.set_condition(tx.world, "prod-web-01", "vm_hung")
        tx.save()

    async def go():
        async with Client(server.mcp) as client:
            return await client.call_tool(
                "restart_vm", {"vm": "prod-web-01", "idempotency_key": "k"}
            )

    answer = anyio.run(go).structured_content
    assert answer["status"] == "ok" and "cleared" not in answer
    assert "vm_hung" not in json.dumps(answer)
