"""The lab's two MCP servers over streamable HTTP for a whole replay.

Over stdio (the shipped connector) every MCP session starts a lab process: the decision's
safety checks, the execution and its checks each open one, a second or more apiece. A replay
of hundreds of incidents would spend most of its time starting Python. Over HTTP one server
process answers every session of the run; the protocol, the tools and the state file are the
same, so the system under test is unchanged but for the connector's transport, which an
admin sets the same way (``PlatformConnector.transport``/``url``/``token_env``).

Two processes, each with its own bearer token: the platform server the connectors use, and
the control server the replay stages conditions through (which no connector is given).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from remediation.connectors.mcp import ConnectorError, McpSession, ServerSpec

BASE_DIR = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


TOKEN_ENV = "REPLAY_LAB_TOKEN"  # noqa: S105 (the variable's name, not a secret)


@contextmanager
def _serve(
    state_path: str, token: str, *, control: bool, log: IO[bytes] | None
) -> Iterator[ServerSpec]:
    """Start one ``python -m lab http`` on a free loopback port; yield how to reach it."""
    port = _free_port()
    variable = "LAB_CONTROL_TOKEN" if control else "LAB_TOKEN"
    env = {**os.environ, "LAB_STATE_PATH": str(state_path), variable: token}
    argv = [sys.executable, "-m", "lab", "http", "--port", str(port)]
    # This Python, arguments as a list (no shell).
    proc = subprocess.Popen(
        [*argv, "--control"] if control else argv,
        cwd=str(BASE_DIR),
        env=env,
        stdout=log if log is not None else subprocess.DEVNULL,
        stderr=log if log is not None else subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    label = "lab control" if control else "lab"
    spec = ServerSpec(label=label, transport="http", url=url, timeout=30, token=token)
    probe = "lab_inventory" if control else "get_device"
    try:
        deadline = time.monotonic() + 240  # a loaded machine starts Python slowly
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the {label} over HTTP exited with {proc.returncode}")
            try:
                with McpSession(
                    ServerSpec(label=label, transport="http", url=url, timeout=2, token=token)
                ) as s:
                    s.call(probe, {} if control else {"device": "core-sw-01"})
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


@contextmanager
def lab_over_http(
    state_path: str, *, log_path: str | None = None
) -> Iterator[tuple[ServerSpec, ServerSpec]]:
    """Start the lab's platform and control servers; yield (platform, control) specs.

    The platform server's token is also put in this process's environment under
    ``TOKEN_ENV``, for connectors whose ``token_env`` names it."""
    log: IO[bytes] | None = open(log_path, "ab") if log_path else None  # noqa: SIM115
    token, control_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    previous = os.environ.get(TOKEN_ENV)
    os.environ[TOKEN_ENV] = token
    try:
        with (
            _serve(state_path, token, control=False, log=log) as platform,
            _serve(state_path, control_token, control=True, log=log) as control,
        ):
            yield platform, control
    finally:
        if previous is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = previous
        if log is not None:
            log.close()
