"""A connector double that answers as the lab will.

Known systems are healthy and backed up; a system marked unhealthy answers False to both;
an unknown system answers None ("cannot tell"), which the safety checks treat as a failure.
Install it with ``remediation.connectors.registry.use(LabDouble())``.
"""

from __future__ import annotations

from collections.abc import Iterable

from remediation.catalogue.rules.operations import SuggestedAction

LAB_SYSTEMS = frozenset(
    {
        "prod-web-01",
        "prod-web-02",
        "prod-db-01",
        "core-sw-01",
        "default/web-7d9f",
        "default/web",
        "vol-data-01",
        "app-instance-03",
    }
)


class LabDouble:
    name = "lab-double"

    def __init__(
        self,
        *,
        unhealthy: Iterable[str] = (),
        no_backup: Iterable[str] = (),
        systems: Iterable[str] = LAB_SYSTEMS,
    ) -> None:
        self.systems = frozenset(systems)
        self.unhealthy = frozenset(unhealthy)
        self.no_backup = frozenset(no_backup)
        self.asked: list[tuple[str, str]] = []

    def backup_available(self, action: SuggestedAction) -> bool | None:
        self.asked.append(("backup_available", action.system))
        if action.system not in self.systems:
            return None
        return action.system not in self.unhealthy and action.system not in self.no_backup

    def system_healthy(self, action: SuggestedAction) -> bool | None:
        self.asked.append(("system_healthy", action.system))
        if action.system not in self.systems:
            return None
        return action.system not in self.unhealthy


class BrokenConnector:
    """A connector whose transport fails: every question raises."""

    name = "broken"

    def backup_available(self, action: SuggestedAction) -> bool | None:
        raise ConnectionError("lab unreachable")

    def system_healthy(self, action: SuggestedAction) -> bool | None:
        raise ConnectionError("lab unreachable")
