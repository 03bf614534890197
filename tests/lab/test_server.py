"""The lab's MCP tools through the real protocol layer (in-process client), and its state
file under concurrent writers (separate threads, separate connections)."""

from __future__ import annotations

import threading

import anyio
import pytest
from mcp import Client

from lab import control, server
from lab.state import LabState

CONTROL_TOOLS = {
    "lab_inventory", "target_state", "condition_status", "write_log", "inject_fault",
    "set_condition", "clear_faults", "reset_lab", "conditions",
}  # fmt: skip


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_PATH", str(tmp_path / "lab.sqlite3"))
    return LabState(tmp_path / "lab.sqlite3")


def call(name, args):
    """A tool of the platform server, or of the control server for the control tools."""
    target = control.control if name in CONTROL_TOOLS else server.mcp

    async def go():
        async with Client(target) as client:
            return await client.call_tool(name, args)

    return anyio.run(go)


def test_a_repeated_idempotency_key_returns_the_first_answer_and_changes_nothing(lab):
    first = call(
        "scale_deployment", {"deployment": "default/web", "replicas": 6, "idempotency_key": "k"}
    )
    again = call(
        "scale_deployment", {"deployment": "default/web", "replicas": 6, "idempotency_key": "k"}
    )
    assert not first.is_error and not again.is_error
    assert first.structured_content["replayed"] is False
    assert again.structured_content["replayed"] is True
    assert again.structured_content["write_seq"] == first.structured_content["write_seq"]
    assert len(lab.writes()) == 1
    other = call(
        "scale_deployment", {"deployment": "default/web", "replicas": 7, "idempotency_key": "k"}
    )
    assert other.is_error and "other arguments" in other.content[0].text
    state = call("target_state", {"target": "default/web"}).structured_content
    assert state["state"]["replicas"] == 6


def test_an_injected_failure_fails_the_next_call_only_and_is_replayed_for_its_key(lab):
    call("inject_fault", {"kind": "fail", "target": "prod-web-01", "operation": "restart_vm"})
    failed = call("restart_vm", {"vm": "prod-web-01", "idempotency_key": "a"})
    assert failed.is_error and "injected" in failed.content[0].text
    replay = call("restart_vm", {"vm": "prod-web-01", "idempotency_key": "a"})
    assert replay.is_error and "replayed" in replay.content[0].text
    ok = call("restart_vm", {"vm": "prod-web-01", "idempotency_key": "b"})
    assert not ok.is_error
    assert [w["key"] for w in lab.writes()] == ["b"]


def test_unreachable_and_maintenance_make_the_pre_check_fail_until_cleared(lab):
    call("inject_fault", {"kind": "unreachable", "target": "core-sw-01"})
    call("inject_fault", {"kind": "maintenance", "target": "core-sw-01"})
    params = {"device": "core-sw-01", "interface": "Gi0/1"}
    check = call("safe_to_act", {"operation": "enable_port", "params": params}).structured_content
    assert check["safe"] is False
    assert any("unreachable" in r for r in check["reasons"])
    assert any("maintenance" in r for r in check["reasons"])
    write = call("enable_port", {**params, "idempotency_key": "x"})
    assert write.is_error and "unreachable" in write.content[0].text
    call("clear_faults", {"target": "core-sw-01"})
    assert call("safe_to_act", {"operation": "enable_port", "params": params}).structured_content[
        "safe"
    ]
    assert lab.writes() == []


def test_a_post_check_fault_fails_the_next_post_check(lab):
    call("inject_fault", {"kind": "postcheck_fail", "target": "app-instance-01"})
    args = {
        "operation": "reboot_instance",
        "params": {"instance": "app-instance-01"},
        "checks": ["instance_active"],
    }
    assert call("post_check", args).structured_content["passed"] is False
    assert call("post_check", args).structured_content["passed"] is True


def test_conditions_are_staged_and_reported_with_their_remedy(lab):
    call("set_condition", {"target": "vol-data-01", "condition": "volume_full"})
    status = call("condition_status", {"target": "vol-data-01"}).structured_content
    assert status["condition"] == "volume_full"
    assert status["cleared_by"] == ["expand_volume"]
    bad = call("set_condition", {"target": "vol-data-01", "condition": "vm_hung"})
    assert bad.is_error


def test_concurrent_writers_lose_no_update(lab):
    """Eight threads, each with its own connection, each restarting its own VM five times:
    the whole world is one document, so a lost update would lose restarts."""
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                r = call("restart_vm", {"vm": f"prod-web-0{n + 1}", "idempotency_key": f"t{n}-{i}"})
                assert not r.is_error, r.content
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(lab.writes()) == 40
    for n in range(8):
        state = call("target_state", {"target": f"prod-web-0{n + 1}"}).structured_content
        assert state["state"]["restarts"] == 5
