"""A connector that asks an MCP server (the bundled lab, or a real one an admin configured).

Built from a ``PlatformConnector`` row. The execution service holds one session for a whole
execution (``with connector.session():``). Questions asked outside one (the investigation,
the decision's safety checks) go to a session pooled per server in this process and reused
across tickets, so a worker starts a stdio server once, not once per question.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from config.secrets import reserved_env_problem
from remediation.catalogue.rules.operations import CATALOGUE, SuggestedAction
from remediation.connectors.mcp import (
    ConnectorError,
    ConnectorTimeout,
    McpSession,
    ServerSpec,
    ToolRefused,
)
from remediation.connectors.models import (
    NEVER_MAPPED,
    READ_ROLES,
    ConnectorTransport,
    PlatformConnector,
    fill_args,
    investigation_tool_errors,
    listed_tools,
    read_only_tools,
    tool_map_errors,
)
from remediation.connectors.rules.profiles import kind_of, profile_errors, query_entries

logger = logging.getLogger(__name__)


def _network_names(params: Mapping[str, Any]) -> dict[str, str]:
    return {"device": str(params.get("device", "")), "interface": str(params.get("interface", ""))}


# Sessions open in this thread, by server: connectors of several platforms pointing at the
# same server (the lab serves all five) share one session, so one process per execution.
_open = threading.local()


def _open_sessions() -> dict[ServerSpec, McpSession]:
    sessions = getattr(_open, "sessions", None)
    if sessions is None:
        sessions = _open.sessions = {}
    return sessions


# Sessions kept open across calls and tasks in this process, for investigations: a stdio
# session starts a server process (seconds); a worker reuses it for every ticket. Created
# lazily in the process that uses them (a portal thread does not survive fork()).
_pool_lock = threading.Lock()
_pool: dict[ServerSpec, McpSession] = {}
_pool_pid = 0
MAX_POOLED = 8


def _pooled(spec: ServerSpec, deadline: float | None = None) -> McpSession:
    """The pooled session of ``spec``, started if need be (before ``deadline``, when given:
    waiting for another thread's start and the start itself count against it)."""
    global _pool_pid
    wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
    if not _pool_lock.acquire(timeout=wait):
        raise ConnectorTimeout(f"{spec.label}: no MCP session within {wait:g}s")
    try:
        if _pool_pid != os.getpid():
            _pool.clear()  # inherited from a parent: not ours to use or close
            _pool_pid = os.getpid()
        session = _pool.get(spec)
        if session is None:
            if len(_pool) >= MAX_POOLED:
                # An edited connector leaves its old session behind: close the oldest.
                _pool.pop(next(iter(_pool))).close()
            session = McpSession(spec)
            session.open(deadline=deadline)
            _pool[spec] = session
        return session
    finally:
        _pool_lock.release()


def _discard(spec: ServerSpec, session: McpSession) -> None:
    with _pool_lock:
        if _pool.get(spec) is session:
            del _pool[spec]
    session.close()


def warm_pooled_sessions() -> threading.Thread | None:
    """Start, in a background thread, the pooled session of every enabled MCP connector's
    server (one per server: the lab's five connectors share one), so that a worker's first
    ticket does not wait for a server process to start (seconds) in its investigation and
    safety checks. Called when a worker process starts; a server that cannot be reached is
    only logged: the ticket that needs it starts it again, within its own bounds."""
    specs: list[ServerSpec] = []
    for row in PlatformConnector.objects.filter(enabled=True).order_by("platform"):
        connector = McpConnector(row)
        if connector._credential_problem or connector.spec in specs:
            continue
        specs.append(connector.spec)
    if not specs:
        return None

    def warm() -> None:
        for spec in specs[:MAX_POOLED]:
            try:
                _pooled(spec)
            except Exception as exc:  # the first ticket tries again, bounded
                logger.warning("could not start the MCP session of %s: %s", spec.label, exc)

    thread = threading.Thread(target=warm, name="mcp-warm", daemon=True)
    thread.start()
    return thread


def warm_on_spawn(sender: object, **kwargs: object) -> None:
    """django-q's ``post_spawn``: a worker process starts; warm its pooled sessions."""
    try:
        warm_pooled_sessions()
    except Exception:  # never stop a worker from starting
        logger.warning("warming the MCP sessions failed", exc_info=True)


def close_pooled_sessions() -> None:
    """Close every pooled session of this process (tests, shutdown)."""
    with _pool_lock:
        sessions = list(_pool.values()) if _pool_pid == os.getpid() else []
        _pool.clear()
    for session in sessions:
        session.close()


def server_spec(row: PlatformConnector) -> ServerSpec:
    env = {str(k): str(v) for k, v in (row.env or {}).items()}
    if row.simulated:
        # The stdio child inherits no environment: hand the lab its state file explicitly.
        env.setdefault("LAB_STATE_PATH", str(settings.LAB_STATE_PATH))
    return ServerSpec(
        label=f"{row.platform} connector {row.name!r}",
        transport=row.transport,
        command=row.command or sys.executable,
        args=tuple(str(a) for a in (row.args or [])),
        env=tuple(sorted(env.items())),
        cwd=str(settings.BASE_DIR),
        url=row.url,
        timeout=float(row.timeout_seconds),
        startup_timeout=float(settings.MCP_STARTUP_SECONDS),
        errlog=str(settings.MCP_STDERR_LOG) if row.transport == ConnectorTransport.STDIO else "",
        # A secret of the project itself is never sent, whatever the row says (a row
        # written past the admin's validation): the connector then refuses every call.
        token=(
            os.environ.get(row.token_env, "")
            if row.token_env and reserved_env_problem(row.token_env) is None
            else ""
        ),
    )


class McpConnector:
    """Answers the safety questions and carries out actions over MCP."""

    def __init__(self, row: PlatformConnector) -> None:
        self.name = row.name
        self.platform = row.platform
        self.simulated = row.simulated
        self.timeout = float(row.timeout_seconds)
        # Checked again here, not only in the admin form: a row written another way (a data
        # migration, the shell, the database) never turns a read into a write. A bad map
        # fails every call closed (as an unreachable server would).
        self._map_problems = tool_map_errors(row.tool_map)
        self._tools = (
            {} if self._map_problems else {role: row.tool_for(role) for role in row.tool_map or {}}
        )
        self.spec = server_spec(row)
        self._credential_problem = reserved_env_problem(row.token_env or "")
        entries = row.investigation_tools if isinstance(row.investigation_tools, list) else []
        # Checked again here, not only in the admin form: a row written another way (a data
        # migration, the shell) still never lets an investigation call a write tool.
        problems = investigation_tool_errors(entries, row.tool_map)
        self._investigation = [] if problems else [dict(e) for e in entries]
        # The profile, checked again for the same reason: a bad one reads nothing.
        profile = row.profile if isinstance(row.profile, dict) else {}
        bad = problems or profile_errors(profile, listed_tools(entries), read_only_tools())
        # No profile: the lab's dialect (the investigation's default); a refused one: none.
        self.profile: dict[str, Any] = {"observations": []} if bad and profile else profile
        self._profile = [] if bad else [dict(e) for e in profile.get("observations") or []]

    def _refuse_borrowed_credential(self) -> None:
        if self._credential_problem:
            raise ConnectorError(f"{self.name}: token_env refused: {self._credential_problem}")

    def tool(self, role: str) -> str:
        return self._tools.get(role, role)

    @contextmanager
    def session(self) -> Iterator[McpSession]:
        """Hold one MCP session for the block; calls inside reuse it (same thread)."""
        self._refuse_borrowed_credential()
        sessions = _open_sessions()
        current = sessions.get(self.spec)
        if current is not None:
            yield current
            return
        with McpSession(self.spec) as opened:
            sessions[self.spec] = opened
            try:
                yield opened
            finally:
                sessions.pop(self.spec, None)

    def _call(self, role: str, arguments: dict[str, Any]) -> Any:
        if self._map_problems:
            raise ConnectorError(f"{self.name}: tool_map refused: {self._map_problems[0]}")
        tool = self.tool(role)
        if role in READ_ROLES and tool not in read_only_tools():
            raise ConnectorError(f"{self.name}: {role} maps to {tool!r}, not a read-only tool")
        if role not in READ_ROLES and (tool in read_only_tools() or tool in NEVER_MAPPED):
            raise ConnectorError(f"{self.name}: {role} maps to {tool!r}, not its write tool")
        return self._ask(tool, arguments, self.timeout)

    def _ask(
        self,
        tool: str,
        arguments: dict[str, Any],
        timeout: float,
        *,
        deadline: float | None = None,
    ) -> Any:
        """On the session this thread holds (an execution), else on the pooled one, which
        the worker reuses across tickets (a stdio server starts once, not per question).
        With ``deadline`` (``time.monotonic()``) the whole call ends by then: starting the
        session, waiting for it, the call and a retry on a fresh session all count."""
        self._refuse_borrowed_credential()
        current = _open_sessions().get(self.spec)
        if current is not None:
            return current.call(tool, arguments, timeout=timeout, deadline=deadline)
        session = _pooled(self.spec, deadline)
        try:
            return session.call(tool, arguments, timeout=timeout, deadline=deadline)
        except (ToolRefused, ConnectorTimeout):
            raise
        except ConnectorError:
            # The pooled session broke (the server restarted): one fresh session, one retry,
            # if there is time left for it.
            _discard(self.spec, session)
            if deadline is not None and deadline <= time.monotonic():
                raise
            session = _pooled(self.spec, deadline)
            return session.call(tool, arguments, timeout=timeout, deadline=deadline)

    @staticmethod
    def _params(action: SuggestedAction) -> dict[str, Any]:
        return dict(action.params)

    # the safety questions (decision time, and the execution's pre-check) -------------------
    def precheck(self, action: SuggestedAction) -> tuple[bool, list[str]]:
        answer = self._call(
            "safe_to_act", {"operation": action.operation, "params": self._params(action)}
        )
        if not isinstance(answer, Mapping) or not isinstance(answer.get("safe"), bool):
            raise ConnectorError(f"{self.name}: safe_to_act gave no verdict")
        reasons = [str(r)[:300] for r in answer.get("reasons") or []]
        return bool(answer["safe"]), reasons

    def system_healthy(self, action: SuggestedAction) -> bool | None:
        """Health means "safe to act" (see docs/execution.md), not "symptom gone"."""
        safe, _ = self.precheck(action)
        return safe

    def backup_available(self, action: SuggestedAction) -> bool | None:
        answer = self._call(
            "backup_available", {"operation": action.operation, "params": self._params(action)}
        )
        if isinstance(answer, Mapping) and isinstance(answer.get("available"), bool):
            return bool(answer["available"])
        return None

    # execution ---------------------------------------------------------------------------
    def before_facts(self, action: SuggestedAction) -> dict[str, Any]:
        answer = self._call(
            "before_facts", {"operation": action.operation, "params": self._params(action)}
        )
        if not isinstance(answer, Mapping):
            raise ConnectorError(f"{self.name}: before_facts gave no facts")
        return dict(answer)

    def execute(self, action: SuggestedAction, idempotency_key: str) -> dict[str, Any]:
        """Run the action's write tool. Raises ToolRefused, ConnectorTimeout (unknown
        outcome) or ConnectorError."""
        answer = self._call(
            action.operation, {**self._params(action), "idempotency_key": idempotency_key}
        )
        return dict(answer) if isinstance(answer, Mapping) else {"answer": str(answer)[:1000]}

    def post_check(
        self, action: SuggestedAction, checks: tuple[str, ...]
    ) -> tuple[bool, list[Any]]:
        answer = self._call(
            "post_check",
            {"operation": action.operation, "params": self._params(action), "checks": list(checks)},
        )
        if not isinstance(answer, Mapping) or not isinstance(answer.get("passed"), bool):
            raise ConnectorError(f"{self.name}: post_check gave no verdict")
        return bool(answer["passed"]), list(answer.get("results") or [])

    # investigation (read-only tools from the project's own list) ---------------------------
    def investigation_entries(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self._investigation if e.get("kind") == kind]

    def profile_entries(self, kind: str = "") -> list[dict[str, Any]]:
        """The profile's observations (of one kind, when named)."""
        return [e for e in self._profile if not kind or kind_of(e["observation"]) == kind]

    def serves(self, kind: str) -> bool:
        """It can show this kind of object: listed tools, or queries in its profile."""
        return bool(self.investigation_entries(kind) or query_entries(self._profile, kind))

    def observe(self, tool: str, arguments: dict[str, Any], *, timeout: float) -> Any:
        """Call one listed read-only tool on a pooled session (reused across tickets), all
        within ``timeout`` seconds: starting the session is part of the call, so a caller's
        total bound (the investigation's) holds even when the server hangs."""
        deadline = time.monotonic() + timeout
        listed = {e["tool"] for e in self._investigation}
        listed |= {str(e["tool"]) for e in self._profile if e.get("query") is not None}
        if tool not in listed:
            raise ConnectorError(f"{self.name}: {tool!r} is not a listed investigation tool")
        return self._ask(tool, arguments, min(timeout, self.timeout), deadline=deadline)

    def target_state(self, action: SuggestedAction) -> dict[str, Any]:
        """The action's target as the listed read-only tools show it, tool by tool."""
        operation = CATALOGUE[action.operation]
        params = dict(action.params)
        name = str(params.get(operation.target_param, ""))
        spec = operation.param(operation.target_param)
        kind = spec.kind.value if spec is not None and spec.kind is not None else ""
        if "interface" in params:
            kind = "interface"
        seen: dict[str, Any] = {}
        for entry in self.investigation_entries(kind):
            arguments = fill_args(entry["args"], name=name, **_network_names(params))
            seen[entry["tool"]] = self.observe(entry["tool"], arguments, timeout=self.timeout)
        return seen
