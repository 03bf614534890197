"""A rollback puts the lab back as it was before the write: the settings and the condition.

Driven as the application drives it, over the lab's MCP tools: read the ``before_facts``,
make the write, then the catalogue's inverse with the facts read before; the control
server's ``target_state`` and ``condition_status`` then read as they did before the write.
"""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from lab import control, server
from lab.state import LabState

# (operation, its params, the condition it clears, the setting its inverse puts back)
REVERSIBLE = [
    ("scale_deployment", {"deployment": "default/api", "replicas": 5}, "saturated", "replicas"),
    ("rollback_deployment", {"deployment": "default/web"}, "bad_release", "revision"),
    (
        "resize_instance",
        {"instance": "app-instance-02", "flavor": "m1.large"},
        "undersized",
        "flavor",
    ),
]


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_PATH", str(tmp_path / "lab.sqlite3"))
    LabState(tmp_path / "lab.sqlite3").reset()


def call(mcp_server, name, args):
    async def go():
        async with Client(mcp_server) as client:
            answer = await client.call_tool(name, args)
        assert not answer.is_error, answer.content
        return answer.structured_content

    return anyio.run(go)


def looked_at(target):
    """What the control server says of the target: its whole state and its condition."""
    return (
        call(control.control, "target_state", {"target": target}),
        call(control.control, "condition_status", {"target": target}),
    )


@pytest.mark.parametrize(("operation", "params", "condition", "setting"), REVERSIBLE)
def test_the_inverse_write_restores_the_setting_and_the_condition(
    lab, operation, params, condition, setting
):
    target = next(iter(params.values()))
    call(control.control, "set_condition", {"target": target, "condition": condition})
    before = looked_at(target)
    facts = call(server.mcp, "before_facts", {"operation": operation, "params": params})

    call(server.mcp, operation, {**params, "idempotency_key": "step"})
    assert looked_at(target)[1]["condition"] is None  # the write cleared it

    inverse = {next(iter(params)): target, setting: facts[setting]}
    call(server.mcp, operation, {**inverse, "idempotency_key": "rollback"})
    after = looked_at(target)
    assert after[1]["condition"] == condition
    assert after == before


def test_a_bad_release_rolled_forward_to_makes_its_pods_crash_loop_again(lab):
    call(control.control, "set_condition", {"target": "default/web", "condition": "bad_release"})
    pods = ["default/web-7d9f", "default/web-5c4b", "default/web-9a1e"]
    before = [looked_at(p) for p in pods]
    call(server.mcp, "rollback_deployment", {"deployment": "default/web", "idempotency_key": "a"})
    call(
        server.mcp,
        "rollback_deployment",
        {"deployment": "default/web", "revision": 4, "idempotency_key": "b"},
    )
    assert [looked_at(p) for p in pods] == before
    assert {looked_at(p)[1]["condition"] for p in pods} == {"crash_looping"}


def test_staging_anew_forgets_what_a_write_cleared(lab):
    call(control.control, "set_condition", {"target": "default/api", "condition": "saturated"})
    call(server.mcp, "scale_deployment", {"deployment": "default/api", "replicas": 5,
                                          "idempotency_key": "a"})  # fmt: skip
    call(control.control, "set_condition", {"target": "default/api", "condition": None})
    call(server.mcp, "scale_deployment", {"deployment": "default/api", "replicas": 2,
                                          "idempotency_key": "b"})  # fmt: skip
    assert looked_at("default/api")[1]["condition"] is None
