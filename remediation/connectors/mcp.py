"""Talking to an MCP server from synchronous Django code (views, tasks, commands).

An ``McpSession`` owns one MCP ``Client`` for as long as it is open: one stdio server process
(or one HTTP connection) for every call of an execution, instead of one process per call.
The client lives in a background event-loop thread (an anyio blocking portal); a single task
there enters *and* exits it, as anyio's cancel scopes require, and calls run as further
tasks of that loop.

Every wait is bounded: opening by ``timeout`` (a server that never answers the handshake, or
a command that does not exist, fails within it), each call by ``timeout`` (the SDK's read
timeout, plus a thread-side guard). A call that timed out raises ``ConnectorTimeout``: the
server may still have done the work, so for a write the outcome is *unknown*, never failed.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from contextlib import AbstractContextManager, AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
import httpx2
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

logger = logging.getLogger(__name__)

# Extra seconds the calling thread waits beyond the SDK's own timeout before giving up.
GUARD_SECONDS = 2.0
REQUEST_TIMEOUT_CODE = -32001


class ConnectorError(Exception):
    """The server could not be reached or answered nonsense: nothing is known to have run."""


class ConnectorTimeout(ConnectorError):
    """No answer within the timeout. For a write tool the outcome is unknown."""


class ToolRefused(ConnectorError):
    """The server answered with an error (``is_error``): the tool said no."""


@dataclass(frozen=True)
class ServerSpec:
    """How to reach one MCP server; built from a ``PlatformConnector`` row.

    Two specs are equal when they reach the same server the same way: the label and the
    timeouts do not count, so connectors of several platforms served by one server (the lab
    serves all five) share one pooled session, one server process per worker, instead of
    each starting its own on its first question. A shared session is labelled by the
    connector that opened it; every call passes its own connector's timeout.
    """

    label: str = field(compare=False)
    transport: str  # "stdio" or "http"
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str = ""
    url: str = ""
    timeout: float = field(default=10.0, compare=False)
    # Starting a stdio server (a Python process importing its SDK) takes longer than a call.
    startup_timeout: float = field(default=20.0, compare=False)
    errlog: str = ""  # file for a stdio server's stderr; empty: inherit ours
    # http: sent as "Authorization: Bearer <token>". Kept out of repr (logs, error pages).
    token: str = field(default="", repr=False)


def _origin(url: httpx2.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class OwnEndpointBearer(httpx2.Auth):
    """``Authorization: Bearer <token>`` on requests to the connector's own endpoint (same
    scheme, host and port as its configured URL) and on nothing else: a server that points
    the client elsewhere (a redirect, a session URL on another host) never receives the
    token."""

    def __init__(self, token: str, url: str) -> None:
        self._token = token
        self._origin = _origin(httpx2.URL(url))

    def auth_flow(self, request: httpx2.Request) -> Any:
        if _origin(request.url) == self._origin:
            request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class McpSession(AbstractContextManager["McpSession"]):
    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self._portal_cm: Any = None
        self._portal: BlockingPortal | None = None
        self._client: Client | None = None
        self._serve: concurrent.futures.Future[None] | None = None
        self._ready = threading.Event()
        self._stop: anyio.Event | None = None
        self._errlog: IO[str] | None = None
        self._lock = threading.Lock()

    # opening and closing -------------------------------------------------------------------
    def __enter__(self) -> McpSession:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _server(self, stack: AsyncExitStack) -> Any:
        spec = self.spec
        if spec.transport == "http":
            wait = max(spec.timeout, spec.startup_timeout)
            http = await stack.enter_async_context(
                httpx2.AsyncClient(
                    auth=OwnEndpointBearer(spec.token, spec.url) if spec.token else None,
                    follow_redirects=False,
                    timeout=httpx2.Timeout(wait, read=wait),
                )
            )
            return streamable_http_client(spec.url, http_client=http)
        params = StdioServerParameters(
            command=spec.command,
            args=list(spec.args),
            env=dict(spec.env),
            cwd=spec.cwd or None,
        )
        if spec.errlog:
            Path(spec.errlog).parent.mkdir(parents=True, exist_ok=True)
            self._errlog = open(spec.errlog, "a", encoding="utf-8")  # noqa: SIM115
            return stdio_client(params, errlog=self._errlog)
        return stdio_client(params)

    async def _run(self) -> None:
        self._stop = anyio.Event()
        startup = max(self.spec.timeout, self.spec.startup_timeout)
        async with AsyncExitStack() as stack:
            server = await self._server(stack)
            client = await stack.enter_async_context(
                Client(server, read_timeout_seconds=startup, cache=None)
            )
            self._client = client
            self._ready.set()
            await self._stop.wait()

    def open(self, *, deadline: float | None = None) -> None:
        """Start the session and wait for its handshake: within the start-up timeout, and
        before ``deadline`` (``time.monotonic()``) when one is given (a caller's own bound,
        of which starting the session is a part)."""
        self._portal_cm = start_blocking_portal(backend="asyncio")
        self._portal = self._portal_cm.__enter__()
        self._serve = self._portal.start_task_soon(self._run)
        wait = max(self.spec.timeout, self.spec.startup_timeout)
        start = time.monotonic()
        limit = start + wait + GUARD_SECONDS
        if deadline is not None and deadline < limit:
            limit = deadline
            wait = max(0.0, deadline - start)
        deadline = limit
        # Wait for the handshake, or for the serving task to fail (bad command, refused).
        while time.monotonic() < deadline:
            if self._ready.wait(0.05):
                return
            if self._serve.done():
                break
        if self._ready.is_set():
            return
        exc = self._serve.exception() if self._serve.done() else None
        if exc is None:
            # No handshake in time: stopping a process that is still starting can take a
            # while, and the caller's time is up. It stops in the background.
            threading.Thread(target=self._shutdown, name="mcp-close", daemon=True).start()
        else:
            self._shutdown()
        if exc is not None:
            raise ConnectorError(
                f"{self.spec.label}: could not start the MCP session ({_why(exc)})"
            )
        raise ConnectorTimeout(f"{self.spec.label}: no MCP handshake within {wait:g}s")

    def _shutdown(self) -> None:
        portal = self._portal
        if portal is not None:
            if not self._ready.is_set() and self._serve is not None:
                # Still in the handshake: nothing to close politely.
                self._serve.cancel()
            elif self._stop is not None:
                try:
                    portal.call(self._stop.set)
                except Exception:  # the loop may be gone already
                    logger.debug("MCP session stop failed", exc_info=True)
            if self._serve is not None and not self._serve.done():
                try:
                    self._serve.result(timeout=10)
                except BaseException:
                    self._serve.cancel()
            try:
                self._portal_cm.__exit__(None, None, None)
            except BaseException:
                logger.warning("MCP session did not close cleanly", exc_info=True)
        self._portal = None
        self._client = None
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    def close(self) -> None:
        self._shutdown()

    # calling -------------------------------------------------------------------------------
    def call(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> Any:
        """Call ``tool``; returns its structured answer (or its text when it has none).
        With ``deadline`` (``time.monotonic()``), the call, waiting for the session
        included, ends by then whatever the server does.

        Raises ToolRefused (the server said no), ConnectorTimeout (no answer in time: the
        outcome is unknown) or ConnectorError (the session broke).
        """
        if self._portal is None or self._client is None:
            raise ConnectorError(f"{self.spec.label}: the MCP session is not open")
        wait = timeout if timeout is not None else self.spec.timeout
        guard = GUARD_SECONDS
        if deadline is not None:
            wait, guard = min(wait, max(0.01, deadline - time.monotonic())), 0.0
        client = self._client
        if not self._lock.acquire(timeout=wait + guard):
            raise ConnectorTimeout(
                f"{self.spec.label}: {tool} gave no answer within {wait:g}s (session busy)"
            )
        try:
            if deadline is not None:
                wait = min(wait, max(0.01, deadline - time.monotonic()))
            future = self._portal.start_task_soon(
                lambda: client.call_tool(tool, arguments, read_timeout_seconds=wait)
            )
            try:
                result = future.result(timeout=wait + guard)
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise ConnectorTimeout(
                    f"{self.spec.label}: {tool} gave no answer within {wait:g}s"
                ) from None
            except MCPError as exc:
                if getattr(exc, "code", None) == REQUEST_TIMEOUT_CODE:
                    raise ConnectorTimeout(
                        f"{self.spec.label}: {tool} gave no answer within {wait:g}s"
                    ) from None
                raise ConnectorError(f"{self.spec.label}: {tool} failed ({exc})") from None
            except Exception as exc:
                raise ConnectorError(f"{self.spec.label}: {tool} failed ({_why(exc)})") from None
        finally:
            self._lock.release()
        if result.is_error:
            text = " ".join(getattr(c, "text", "") for c in result.content).strip()
            raise ToolRefused(text or f"{tool} refused")
        if result.structured_content is not None:
            return result.structured_content
        return " ".join(getattr(c, "text", "") for c in result.content)


def _why(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown reason"
    # anyio wraps start-up failures in exception groups; the first leaf says most.
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
