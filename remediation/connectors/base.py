"""What the decision's safety checks ask of the infrastructure behind an action."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from remediation.catalogue.rules.operations import SuggestedAction


@runtime_checkable
class Connector(Protocol):
    """Answers the pre-execution questions about one action's target.

    Each answer is True, False, or None for "cannot tell". The safety checks fail closed:
    None, or an exception raised here, counts as a failed check.
    """

    name: str

    def backup_available(self, action: SuggestedAction) -> bool | None: ...

    def system_healthy(self, action: SuggestedAction) -> bool | None: ...


@runtime_checkable
class ActionConnector(Connector, Protocol):
    """A connector that can also carry actions out (the execution service needs this).

    ``execute`` raises ``ToolRefused`` (the server said no: nothing ran),
    ``ConnectorTimeout`` (no answer in time: the outcome is unknown) or ``ConnectorError``.
    """

    simulated: bool

    def session(self) -> AbstractContextManager[Any]: ...

    def precheck(self, action: SuggestedAction) -> tuple[bool, list[str]]: ...

    def before_facts(self, action: SuggestedAction) -> dict[str, Any]: ...

    def execute(self, action: SuggestedAction, idempotency_key: str) -> dict[str, Any]: ...

    def post_check(
        self, action: SuggestedAction, checks: tuple[str, ...]
    ) -> tuple[bool, list[Any]]: ...

    def target_state(self, action: SuggestedAction) -> dict[str, Any]: ...


@runtime_checkable
class InvestigatingConnector(Protocol):
    """A connector that can show an object's signals through read-only tools.

    ``investigation_entries(kind)`` is the project's own list of the read-only tools for
    that kind of object (``PlatformConnector.investigation_tools``); ``profile_entries``
    says where each observation sits in their answers, or which query reads it
    (``PlatformConnector.profile``; optional: a connector without one speaks the lab's
    dialect); ``observe`` calls a listed tool (or a profile's query
    tool) and nothing else. It raises ``ToolRefused`` (the server said no, e.g. an unknown
    name), ``ConnectorTimeout`` or ``ConnectorError``.
    """

    name: str

    def investigation_entries(self, kind: str) -> list[dict[str, Any]]: ...

    def observe(self, tool: str, arguments: dict[str, Any], *, timeout: float) -> Any: ...


class UnconfiguredConnector:
    """The default for a platform nobody configured: it knows nothing, so nothing passes."""

    name = "unconfigured"

    def backup_available(self, action: SuggestedAction) -> bool | None:
        return None

    def system_healthy(self, action: SuggestedAction) -> bool | None:
        return None
