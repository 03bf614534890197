"""No connector session can stage, reset or read a condition's name: the control surface is a
separate server, and over HTTP each server wants its own bearer token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from lab import control, server
from lab.state import LabState
from remediation.catalogue.rules.operations import CATALOGUE
from remediation.connectors.mcp import ConnectorError, McpSession, ServerSpec, ToolRefused
from remediation.connectors.mcp_connector import McpConnector
from remediation.connectors.models import PlatformConnector
from tests.support.dbutil import ROOT

CONTROL_ONLY = (
    ("set_condition", {"target": "prod-web-01", "condition": "vm_hung"}),
    ("inject_fault", {"kind": "fail", "target": "prod-web-01"}),
    ("reset_lab", {}),
    ("clear_faults", {}),
    ("lab_inventory", {}),
    ("condition_status", {"target": "prod-web-01"}),
    ("target_state", {"target": "prod-web-01"}),
    ("conditions", {}),
)


def tools_of(mcp_server):
    async def go():
        async with Client(mcp_server) as client:
            return (await client.list_tools()).tools

    return anyio.run(go)


def test_the_platform_server_has_no_control_tool_and_annotates_its_tools_truthfully():
    tools = {t.name: t for t in tools_of(server.mcp)}
    assert not {name for name, _ in CONTROL_ONLY} & set(tools)
    for name, tool in tools.items():
        hints = tool.annotations
        assert hints is not None, name
        assert hints.read_only_hint is (name not in CATALOGUE), name
    assert {name for name, _ in CONTROL_ONLY} <= {t.name for t in tools_of(control.control)}


@pytest.mark.django_db
def test_a_connector_session_cannot_stage_reset_or_read_a_condition(settings, tmp_path):
    settings.LAB_STATE_PATH = tmp_path / "lab.sqlite3"
    LabState(settings.LAB_STATE_PATH).reset()
    row = PlatformConnector.objects.get(platform="vmware")  # as the migration wrote it
    connector = McpConnector(row)
    with connector.session() as session:
        for tool, arguments in CONTROL_ONLY:
            with pytest.raises(ToolRefused, match="Unknown tool"):
                session.call(tool, arguments)
    # The investigation path refuses anything the connector's own list does not name.
    with pytest.raises(ConnectorError, match="not a listed investigation tool"):
        connector.observe("restart_vm", {"vm": "prod-web-01"}, timeout=5)
    with pytest.raises(ConnectorError, match="not a listed investigation tool"):
        connector.observe("set_condition", {"target": "prod-web-01"}, timeout=5)
    assert LabState(settings.LAB_STATE_PATH).writes() == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp_path, *extra: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "http", "--port", str(port), *extra],
        cwd=str(ROOT),
        env={**os.environ, "LAB_STATE_PATH": str(tmp_path / "lab.sqlite3"), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the lab did not start")


def test_over_http_the_lab_wants_its_bearer_token_and_binds_to_loopback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LAB_TOKEN", "LAB_CONTROL_TOKEN")}
    refused = subprocess.run(
        [sys.executable, "-m", "lab", "http", "--port", str(_free_port())],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0 and b"LAB_TOKEN" in refused.stderr

    proc, port = _start(tmp_path, env={"LAB_TOKEN": "right-token"})
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "right-token"}):
            assert httpx2.post(url, json=body, headers=headers, timeout=10).status_code == 401
        spec = ServerSpec(label="lab", transport="http", url=url, timeout=10, token="right-token")
        with McpSession(spec) as session:
            assert session.call("get_vm", {"vm": "prod-web-01"})["guest_heartbeat"] == "green"
            with pytest.raises(ToolRefused, match="Unknown tool"):
                session.call("set_condition", {"target": "prod-web-01", "condition": "vm_hung"})
        wrong = ServerSpec(label="lab", transport="http", url=url, timeout=5, token="wrong")
        with pytest.raises(ConnectorError):
            McpSession(wrong).open()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _listening(port: int) -> set[str]:
    """The local addresses (hex, as Linux' socket tables write them) listening on ``port``."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_over_http_the_lab_listens_on_loopback_only_by_default(tmp_path):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("reads Linux' socket tables")
    proc, port = _start(tmp_path, env={"LAB_TOKEN": "right-token"})
    try:
        assert _listening(port) == {"0100007F"}  # 127.0.0.1, not 0.0.0.0 or ::
        answer = httpx2.post(
            f"http://127.0.0.1:{port}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            timeout=10,
        )
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_control_server_over_http_takes_its_own_token(tmp_path):
    proc, port = _start(
        tmp_path, "--control", env={"LAB_TOKEN": "platform", "LAB_CONTROL_TOKEN": "control"}
    )
    try:
        url = f"http://127.0.0.1:{port}/mcp"
        with pytest.raises(ConnectorError):
            McpSession(
                ServerSpec(label="c", transport="http", url=url, timeout=5, token="platform")
            ).open()
        spec = ServerSpec(label="c", transport="http", url=url, timeout=10, token="control")
        with McpSession(spec) as session:
            session.call("set_condition", {"target": "prod-web-01", "condition": "vm_hung"})
            status = session.call("condition_status", {"target": "prod-web-01"})
            assert status["condition"] == "vm_hung"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
