"""The lab's control server: staging, reset and the labelled truth, apart from the platform.

Demos, tests and the incident replay use it to stage conditions and faults, read which
condition a target has and what clears it, read the write log and reset the lab. No
connector is ever given it: the platform server (``lab.server``) that connectors speak to
has none of these tools, so nothing the application calls can stage, reset or read a
condition's name. Run it with ``python -m lab control`` (stdio) or
``python -m lab http --control`` (HTTP, bearer token from ``LAB_CONTROL_TOKEN``).
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from lab import engine
from lab.state import FAULT_KINDS, LabState

control = MCPServer(
    "datacenter-lab-control",
    log_level="WARNING",
    instructions=(
        "Control surface of the SIMULATED datacenter lab: stage conditions and faults, read "
        "the staged truth, reset. For demos, tests and replays only."
    ),
)

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
STAGE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False)


def _state() -> LabState:
    return LabState()


@control.tool(annotations=READ)
def lab_inventory() -> dict[str, Any]:
    """Every target in the lab with its kind, platform and current condition."""
    with _state().tx() as tx:
        objects = tx.world["objects"]
        faults = [f.to_dict() for f in tx.faults()]
    return {
        "simulated": True,
        "targets": [
            {
                "target": name,
                "kind": obj["kind"],
                "platform": obj["platform"],
                "condition": obj.get("condition"),
                "interfaces": {i: v["condition"] for i, v in obj.get("interfaces", {}).items()},
            }
            for name, obj in sorted(objects.items())
        ],
        "faults": faults,
    }


@control.tool(annotations=READ)
def target_state(target: str) -> dict[str, Any]:
    """The full state of one target (a VM, pod, deployment, device, volume or instance)."""
    with _state().tx() as tx:
        if tx.has_fault("unreachable", (target,)):
            raise ToolError(f"{target} is unreachable")
        try:
            described = engine.describe(tx.world, target)
        except engine.LabError as exc:
            raise ToolError(str(exc)) from None
        in_flight = tx.in_flight(target)
    return {"target": target, "simulated": True, "in_flight": in_flight, "state": described}


@control.tool(annotations=READ)
def condition_status(target: str, interface: str | None = None) -> dict[str, Any]:
    """The symptom a target (or interface) has now, and which operations clear it."""
    with _state().tx() as tx:
        try:
            condition = engine.condition_of(tx.world, target, interface)
        except engine.LabError as exc:
            raise ToolError(str(exc)) from None
    return {
        "target": target,
        "interface": interface,
        "condition": condition,
        "cleared_by": list(engine.CLEARED_BY.get(condition, ())) if condition else [],
    }


@control.tool(annotations=READ)
def write_log(limit: int = 100) -> dict[str, Any]:
    """The most recent changes the lab made (oldest first)."""
    return {"writes": _state().writes(max(1, min(limit, 1000)))}


# --- Fault tools (for demos, tests and incident replays) ----------------------------------


@control.tool(annotations=STAGE)
def inject_fault(
    kind: str,
    target: str,
    operation: str | None = None,
    count: int = 1,
    seconds: float | None = None,
) -> dict[str, Any]:
    """Stage a failure. kind: fail (the next call of the operation fails), postcheck_fail
    (its next post-check fails), unreachable (until cleared), slow / hang (answer after
    `seconds`; a hang makes the change and answers too late), slow_read (the target's
    next investigation read answers after `seconds`, its server busy meanwhile, as a
    platform API that hangs), maintenance (until cleared).
    target: a target name, or for an interface "core-sw-01 Gi0/1". count 0: until cleared."""
    if kind not in FAULT_KINDS:
        raise ToolError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    if operation is not None and operation not in engine.OPERATIONS:
        raise ToolError(f"unknown operation {operation!r}")
    if count < 0 or count > 1000:
        raise ToolError("count must be 0-1000")
    with _state().tx() as tx:
        base = target.split(" ", 1)[0]
        if base not in tx.world["objects"]:
            raise ToolError(f"unknown target {base!r}: not in the lab's inventory")
        if kind == "maintenance":
            tx.world["objects"][base]["maintenance"] = True
            tx.save()
        fault = tx.add_fault(kind, target, operation, count, seconds)
    return {"fault": fault.to_dict()}


@control.tool(annotations=STAGE)
def set_condition(
    target: str, condition: str | None = None, interface: str | None = None
) -> dict[str, Any]:
    """Give a target a condition (see ``conditions``), or heal it with condition=null."""
    with _state().tx() as tx:
        try:
            result = engine.set_condition(tx.world, target, condition, interface)
        except engine.LabError as exc:
            raise ToolError(str(exc)) from None
        tx.save()
    return result


@control.tool(annotations=STAGE)
def clear_faults(target: str | None = None) -> dict[str, Any]:
    """Remove staged faults (of one target, or all) and lift maintenance."""
    with _state().tx() as tx:
        removed = tx.clear_faults(target)
        for name, obj in tx.world["objects"].items():
            if target is None or name == target.split(" ", 1)[0]:
                obj["maintenance"] = False
        tx.save()
    return {"removed": removed}


@control.tool(annotations=STAGE)
def reset_lab() -> dict[str, Any]:
    """Put the whole lab back to its initial inventory; forget keys, faults and the log."""
    _state().reset()
    return {"reset": True}


@control.tool(annotations=READ)
def conditions() -> dict[str, Any]:
    """The conditions each kind of object can be given, and the operation that clears each
    (none: no catalogue operation is the fix, a person is)."""
    return {
        "by_kind": {k: list(v) for k, v in engine.CONDITIONS_BY_KIND.items()},
        "cleared_by": {
            c: list(engine.CLEARED_BY.get(c, ()))
            for kind in engine.CONDITIONS_BY_KIND.values()
            for c in kind
        },
    }
