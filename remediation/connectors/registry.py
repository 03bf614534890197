"""Which connector answers for which platform.

In order: a connector installed in code (``register``, or ``with use(double):`` in tests),
then the enabled ``PlatformConnector`` row an admin configured (an MCP server; the data
migration points every platform at the bundled lab), else ``UnconfiguredConnector``, whose
"don't know" answers make every safety check fail closed and which cannot execute.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from remediation.catalogue.rules.operations import Platform
from remediation.connectors.base import Connector, UnconfiguredConnector
from remediation.connectors.mcp_connector import McpConnector
from remediation.connectors.models import EVIDENCE_PLATFORMS, PlatformConnector

_lock = threading.Lock()
_connectors: dict[str, Connector] = {}
_UNCONFIGURED = UnconfiguredConnector()


def _platforms(platforms: tuple[str, ...]) -> tuple[str, ...]:
    names = platforms or tuple(p.value for p in Platform)
    known = {p.value for p in Platform} | set(EVIDENCE_PLATFORMS)
    unknown = [p for p in names if p not in known]
    if unknown:
        raise ValueError(f"unknown platform(s): {', '.join(unknown)}")
    return tuple(names)


def get_connector(platform: str) -> Connector:
    """The connector for ``platform``; the unconfigured one when none is configured."""
    with _lock:
        installed = _connectors.get(str(platform))
    if installed is not None:
        return installed
    row = PlatformConnector.objects.filter(platform=str(platform), enabled=True).first()
    if row is None:
        return _UNCONFIGURED
    return McpConnector(row)


def register(connector: Connector, *platforms: str) -> None:
    """Make ``connector`` answer for ``platforms`` (all platforms when none are named)."""
    names = _platforms(platforms)
    with _lock:
        for name in names:
            _connectors[name] = connector


@contextmanager
def use(connector: Connector, *platforms: str) -> Iterator[Connector]:
    """Install ``connector`` for the block, then put back whatever answered before."""
    names = _platforms(platforms)
    with _lock:
        previous = {name: _connectors.get(name) for name in names}
        for name in names:
            _connectors[name] = connector
    try:
        yield connector
    finally:
        with _lock:
            for name, old in previous.items():
                if old is None:
                    _connectors.pop(name, None)
                else:
                    _connectors[name] = old
