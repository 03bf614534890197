"""A slow or dead MCP server gives a clear error within its timeout, never a hang."""

from __future__ import annotations

import shutil
import sys

import pytest

from remediation.connectors.mcp import ConnectorError, ConnectorTimeout, McpSession, ServerSpec


def test_a_server_that_cannot_start_fails_at_once_with_the_reason():
    spec = ServerSpec(label="dead", transport="stdio", command="/nonexistent/mcp-server", timeout=2)
    with pytest.raises(ConnectorError, match="could not start the MCP session"):
        McpSession(spec).open()


def test_a_server_that_never_answers_the_handshake_times_out():
    sleep = shutil.which("sleep")
    assert sleep
    spec = ServerSpec(
        label="mute", transport="stdio", command=sleep, args=("60",), timeout=1, startup_timeout=1
    )
    with pytest.raises(ConnectorTimeout, match="no MCP handshake within 1s"):
        McpSession(spec).open()


def test_a_server_that_exits_at_once_is_a_connector_error():
    spec = ServerSpec(
        label="exits",
        transport="stdio",
        command=sys.executable,
        args=("-c", "pass"),
        timeout=2,
        startup_timeout=5,
    )
    with pytest.raises(ConnectorError):
        McpSession(spec).open()


def test_an_http_server_that_is_not_there_fails_within_the_timeout():
    spec = ServerSpec(
        label="nohttp", transport="http", url="http://127.0.0.1:9/mcp", timeout=2, startup_timeout=2
    )
    with pytest.raises(ConnectorError):
        McpSession(spec).open()
