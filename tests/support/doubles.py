"""A connector double that answers as the lab will.

Known systems are healthy and backed up; a system marked unhealthy answers False to both;
an unknown system answers None ("cannot tell"), which the safety checks treat as a failure.
Install it with ``remediation.connectors.registry.use(LabDouble())``.

It investigates too, as the lab's platform server would: the lab's own signal readers run
over an in-memory copy of the lab's inventory with the ``conditions`` given
(``{"prod-web-01": "vm_hung", "core-sw-01 Gi0/1": "flapping"}``), through the same listed
read-only tools the bundled lab's connectors carry. The lab is what lies outside the
application; this stands in for its process, not for any code of ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lab import engine, signals
from lab.inventory import default_hosts, default_inventory
from remediation.catalogue.rules.operations import SuggestedAction
from remediation.connectors.mcp import ToolRefused
from remediation.connectors.models import LAB_INVESTIGATION_TOOLS

# The lab's read tools, by name, as its platform server maps them to signal readers.
_READERS = {
    "get_vm": signals.vm_summary,
    "get_vm_metrics": signals.vm_metrics,
    "get_vm_events": signals.vm_events,
    "get_host": signals.host_summary,
    "get_pod": signals.pod_summary,
    "get_pod_logs": signals.pod_logs,
    "get_deployment": signals.deployment_summary,
    "get_device": signals.device_summary,
    "get_interface": signals.interface_summary,
    "get_volume": signals.volume_summary,
    "get_instance": signals.instance_summary,
}

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
        conditions: Mapping[str, str] | None = None,
        unreachable: Iterable[str] = (),
    ) -> None:
        self.systems = frozenset(systems)
        self.unhealthy = frozenset(unhealthy)
        self.no_backup = frozenset(no_backup)
        self.asked: list[tuple[str, str]] = []
        self.unreachable = frozenset(unreachable)
        self.world: dict[str, Any] = {"objects": default_inventory(), "hosts": default_hosts()}
        for target, condition in (conditions or {}).items():
            name, _, interface = target.partition(" ")
            engine.set_condition(self.world, name, condition, interface or None)

    def investigation_entries(self, kind: str) -> list[dict[str, Any]]:
        return [
            dict(e)
            for entries in LAB_INVESTIGATION_TOOLS.values()
            for e in entries
            if e["kind"] == kind
        ]

    def observe(self, tool: str, arguments: dict[str, Any], *, timeout: float) -> Any:
        self.asked.append((tool, " ".join(str(v) for v in arguments.values())))
        if str(next(iter(arguments.values()), "")) in self.unreachable:
            raise ToolRefused(f"Error executing tool {tool}: target is unreachable")
        try:
            return {**_READERS[tool](self.world, *arguments.values()), "simulated": True}
        except engine.LabError as exc:
            raise ToolRefused(f"Error executing tool {tool}: {exc}") from None

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
