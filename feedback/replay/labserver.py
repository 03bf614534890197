"""One lab MCP server over streamable HTTP for a whole replay.

Over stdio (the shipped connector) every MCP session starts a lab process: the decision's
safety checks, the execution and its checks each open one, a second or more apiece. A replay
of hundreds of incidents would spend most of its time starting Python. Over HTTP one server
process answers every session of the run; the protocol, the tools and the state file are the
same, so the system under test is unchanged but for the connector's transport, which an
admin sets the same way (``PlatformConnector.transport``/``url``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from remediation.connectors.mcp import ConnectorError, McpSession, ServerSpec

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def lab_over_http(state_path: str, *, log_path: str | None = None) -> Iterator[ServerSpec]:
    """Start ``python -m lab http`` on a free loopback port; yield how to reach it."""
    port = _free_port()
    env = {**os.environ, "LAB_STATE_PATH": str(state_path)}
    log: IO[bytes] | None = open(log_path, "ab") if log_path else None  # noqa: SIM115
    # This Python, arguments as a list (no shell).
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "http", "--port", str(port)],
        cwd=str(BASE_DIR),
        env=env,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=log if log is not None else subprocess.DEVNULL,
    )
    spec = ServerSpec(label="lab", transport="http", url=f"http://127.0.0.1:{port}/mcp", timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the lab over HTTP exited with {proc.returncode}")
            try:
                with McpSession(
                    ServerSpec(label="lab", transport="http", url=spec.url, timeout=2)
                ) as s:
                    s.call("lab_inventory", {})
                break
            except ConnectorError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield spec
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not None:
            log.close()
