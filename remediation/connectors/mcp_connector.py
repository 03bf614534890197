"""A connector that asks an MCP server (the bundled lab, or a real one an admin configured).

Built from a ``PlatformConnector`` row. Outside ``with connector.session():`` each question
opens its own short session; the execution service holds one session for a whole
execution, so a stdio server is started once per execution, not once per call.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from remediation.catalogue.rules.operations import SuggestedAction
from remediation.connectors.mcp import (
    ConnectorError,
    McpSession,
    ServerSpec,
)
from remediation.connectors.models import ConnectorTransport, PlatformConnector

# Sessions open in this thread, by server: connectors of several platforms pointing at the
# same server (the lab serves all five) share one session, so one process per execution.
_open = threading.local()


def _open_sessions() -> dict[ServerSpec, McpSession]:
    sessions = getattr(_open, "sessions", None)
    if sessions is None:
        sessions = _open.sessions = {}
    return sessions


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
    )


class McpConnector:
    """Answers the safety questions and carries out actions over MCP."""

    def __init__(self, row: PlatformConnector) -> None:
        self.name = row.name
        self.platform = row.platform
        self.simulated = row.simulated
        self.timeout = float(row.timeout_seconds)
        self._tools = {role: row.tool_for(role) for role in row.tool_map or {}}
        self.spec = server_spec(row)

    def tool(self, role: str) -> str:
        return self._tools.get(role, role)

    @contextmanager
    def session(self) -> Iterator[McpSession]:
        """Hold one MCP session for the block; calls inside reuse it (same thread)."""
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
        with self.session() as s:
            return s.call(self.tool(role), arguments, timeout=self.timeout)

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

    def target_state(self, action: SuggestedAction) -> dict[str, Any]:
        spec_target = str(action.system)
        answer = self._call("target_state", {"target": spec_target})
        return dict(answer) if isinstance(answer, Mapping) else {"answer": str(answer)[:1000]}
