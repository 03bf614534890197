"""The lab's MCP server: one write tool per catalogue operation, read tools, fault tools.

Write tools take the catalogue's parameters plus ``idempotency_key``: the same key again
returns the first answer (``"replayed": true``) and changes nothing; the same key with other
arguments is refused. Anticipated refusals raise ``ToolError`` (the client sees
``is_error`` with the message).

Run it: ``python -m lab`` (stdio, what the application spawns) or
``python -m lab http --port 8765`` (streamable HTTP at ``/mcp``). The state file is
``LAB_STATE_PATH`` (default ``var/lab-state.sqlite3``). Never print to stdout here: in a
stdio server it belongs to the protocol.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from lab import engine
from lab.state import FAULT_KINDS, Fault, LabState, Tx

mcp = MCPServer(
    "datacenter-lab",
    # Refused calls are part of normal operation (injected faults): keep stderr quiet.
    log_level="WARNING",
    instructions=(
        "A SIMULATED datacenter for trying auto-remediation safely: VMs, Kubernetes "
        "deployments and pods, switch interfaces, volumes and OpenStack instances. Nothing "
        "here touches real infrastructure."
    ),
)

DEFAULT_HANG_SECONDS = 600.0
DEFAULT_SLOW_SECONDS = 2.0


def _state() -> LabState:
    return LabState()


def _targets(operation: str, params: dict[str, Any]) -> tuple[str, ...]:
    """Names a fault may be staged on for this action: the object, and for network actions
    also the interface (``core-sw-01 Gi0/1``)."""
    spec = engine.operation_spec(operation)
    name = str(params.get(spec["target"]))
    if "sub" in spec:
        return (name, engine.target_of(operation, params))
    return (name,)


async def _write(operation: str, params: dict[str, Any], key: str) -> dict[str, Any]:
    params = {k: v for k, v in params.items() if v is not None}
    if not key or len(key) > 200:
        raise ToolError("idempotency_key must be 1-200 characters")
    args = json.dumps({"tool": operation, "params": params}, sort_keys=True)
    state = _state()
    try:
        target = engine.target_of(operation, params)
    except engine.LabError as exc:
        raise ToolError(str(exc)) from None
    targets = _targets(operation, params)

    with state.tx() as tx:
        prior = tx.idem_get(key)
        if prior is not None:
            return _replayed(prior, args, key)
        error, slow, hang = _reserve(tx, operation, params, key, args, target, targets)
    # Raised after the transaction committed: the injected failure is remembered for replays.
    if error is not None:
        raise ToolError(error)
    if slow is not None:
        await anyio.sleep(slow.seconds or DEFAULT_SLOW_SECONDS)
    result = _apply(state, operation, params, key, target, targets[0])
    # A hang answers late (or never, for the caller that gave up): the change is made, the
    # caller cannot know it. That is the "unknown outcome" the executor must handle.
    if hang is not None:
        await anyio.sleep(hang.seconds or DEFAULT_HANG_SECONDS)
    return result


def _replayed(prior: tuple[Any, ...], args: str, key: str) -> dict[str, Any]:
    """The answer to a call whose idempotency key was seen before."""
    _tool, prior_args, result, is_error = prior
    if prior_args != args:
        raise ToolError(f"idempotency_key {key!r} was used with other arguments")
    if result is None:
        raise ToolError(f"a call with idempotency_key {key!r} is still in progress")
    if is_error:
        raise ToolError(f"{result['error']} (replayed)")
    return {**result, "replayed": True}


def _reserve(
    tx: Tx,
    operation: str,
    params: dict[str, Any],
    key: str,
    args: str,
    target: str,
    targets: tuple[str, ...],
) -> tuple[str | None, Fault | None, Fault | None]:
    """Check the target can take the write now, reserve the key and start the flight.

    Returns (an injected failure's message, a slow fault, a hang fault); raises when the
    write is refused before anything is reserved."""
    if tx.has_fault("unreachable", targets):
        raise ToolError(f"{target} is unreachable")
    try:
        engine._lookup(tx.world, operation, params)
    except engine.LabError as exc:
        raise ToolError(str(exc)) from None
    busy = tx.in_flight(targets[0])
    if busy is not None:
        raise ToolError(f"another operation ({busy[0]}) is in flight on {target}")
    tx.idem_reserve(key, operation, args)
    if tx.take_fault("fail", targets, operation) is not None:
        message = f"{operation} failed on {target} (injected fault)"
        tx.idem_store(key, {"error": message}, is_error=True)
        return message, None, None
    slow = tx.take_fault("slow", targets, operation)
    hang = tx.take_fault("hang", targets, operation)
    tx.begin_flight(targets[0], operation, key)
    return None, slow, hang


def _apply(
    state: LabState, operation: str, params: dict[str, Any], key: str, target: str, flight: str
) -> dict[str, Any]:
    """End the flight and make the change; the result is stored under the key either way."""
    with state.tx() as tx:
        tx.end_flight(flight, key)
        try:
            outcome = engine.apply(tx.world, operation, params)
        except engine.LabError as exc:
            tx.idem_store(key, {"error": str(exc)}, is_error=True)
            failed = str(exc)
        else:
            failed = ""
            tx.save()
            seq = tx.log_write(operation, target, key, params, outcome["detail"])
            result = {
                "status": "ok",
                "operation": operation,
                "target": target,
                "write_seq": seq,
                "replayed": False,
                "simulated": True,
                **outcome,
            }
            tx.idem_store(key, result, is_error=False)
    if failed:
        raise ToolError(failed)
    return result


# --- The 14 write tools (names = catalogue keys) -------------------------------------------


@mcp.tool()
async def restart_vm(vm: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: gracefully restart a VM."""
    return await _write("restart_vm", {"vm": vm}, idempotency_key)


@mcp.tool()
async def snapshot_vm(
    vm: str, idempotency_key: str, snapshot_name: str | None = None
) -> dict[str, Any]:
    """SAFE_WRITE: take a VM snapshot."""
    return await _write("snapshot_vm", {"vm": vm, "snapshot_name": snapshot_name}, idempotency_key)


@mcp.tool()
async def increase_memory(vm: str, memory_gb: int, idempotency_key: str) -> dict[str, Any]:
    """CRITICAL_WRITE: hot-add memory to a VM (new total in GB)."""
    return await _write("increase_memory", {"vm": vm, "memory_gb": memory_gb}, idempotency_key)


@mcp.tool()
async def increase_cpu(vm: str, cpus: int, idempotency_key: str) -> dict[str, Any]:
    """CRITICAL_WRITE: hot-add vCPUs to a VM (new total)."""
    return await _write("increase_cpu", {"vm": vm, "cpus": cpus}, idempotency_key)


@mcp.tool()
async def restart_pod(pod: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: delete a pod (namespace/name) so its controller recreates it."""
    return await _write("restart_pod", {"pod": pod}, idempotency_key)


@mcp.tool()
async def scale_deployment(deployment: str, replicas: int, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: set a deployment's replica count."""
    return await _write(
        "scale_deployment", {"deployment": deployment, "replicas": replicas}, idempotency_key
    )


@mcp.tool()
async def rollback_deployment(
    deployment: str, idempotency_key: str, revision: int | None = None
) -> dict[str, Any]:
    """CRITICAL_WRITE: roll a deployment to an earlier revision (default: the previous)."""
    return await _write(
        "rollback_deployment", {"deployment": deployment, "revision": revision}, idempotency_key
    )


@mcp.tool()
async def clear_interface_errors(
    device: str, interface: str, idempotency_key: str
) -> dict[str, Any]:
    """SAFE_WRITE: clear an interface's error counters."""
    return await _write(
        "clear_interface_errors", {"device": device, "interface": interface}, idempotency_key
    )


@mcp.tool()
async def enable_port(device: str, interface: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: enable an administratively disabled or err-disabled port."""
    return await _write("enable_port", {"device": device, "interface": interface}, idempotency_key)


@mcp.tool()
async def restart_interface(device: str, interface: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: bounce an interface (shutdown / no shutdown)."""
    return await _write(
        "restart_interface", {"device": device, "interface": interface}, idempotency_key
    )


@mcp.tool()
async def expand_volume(volume: str, size_gb: int, idempotency_key: str) -> dict[str, Any]:
    """CRITICAL_WRITE: grow a volume to a new total size in GB."""
    return await _write("expand_volume", {"volume": volume, "size_gb": size_gb}, idempotency_key)


@mcp.tool()
async def clear_snapshots(
    volume: str, older_than_days: int, idempotency_key: str, keep_last: int | None = None
) -> dict[str, Any]:
    """CRITICAL_WRITE: delete a volume's snapshots older than N days, keeping the newest."""
    return await _write(
        "clear_snapshots",
        {"volume": volume, "older_than_days": older_than_days, "keep_last": keep_last},
        idempotency_key,
    )


@mcp.tool()
async def reboot_instance(instance: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: soft-reboot an OpenStack instance."""
    return await _write("reboot_instance", {"instance": instance}, idempotency_key)


@mcp.tool()
async def resize_instance(instance: str, flavor: str, idempotency_key: str) -> dict[str, Any]:
    """CRITICAL_WRITE: resize an OpenStack instance to another flavor."""
    return await _write(
        "resize_instance", {"instance": instance, "flavor": flavor}, idempotency_key
    )


# --- Read tools ---------------------------------------------------------------------------


def _read(operation: str, params: dict[str, Any]) -> tuple[LabState, Any]:
    try:
        engine.target_of(operation, params)
    except engine.LabError as exc:
        raise ToolError(str(exc)) from None
    return _state(), _targets(operation, params)


@mcp.tool()
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


@mcp.tool()
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


@mcp.tool()
def safe_to_act(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The pre-check: can this action run safely now? (reachable, capacity, nothing in
    flight, not in maintenance). It does not ask whether the symptom is present."""
    state, targets = _read(operation, params)
    with state.tx() as tx:
        busy = tx.in_flight(targets[0])
        return engine.safe_to_act(
            tx.world,
            operation,
            params,
            unreachable=tx.has_fault("unreachable", targets),
            in_flight=busy[0] if busy else None,
        )


@mcp.tool()
def backup_available(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Whether a restorable backup of the action's target exists."""
    state, targets = _read(operation, params)
    with state.tx() as tx:
        if tx.has_fault("unreachable", targets):
            raise ToolError(f"{targets[-1]} is unreachable")
        try:
            return {"available": engine.backup_available(tx.world, operation, params)}
        except engine.LabError as exc:
            raise ToolError(str(exc)) from None


@mcp.tool()
def before_facts(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Facts read before an action, which its rollback needs (replicas, revision, flavor...)."""
    state, targets = _read(operation, params)
    with state.tx() as tx:
        if tx.has_fault("unreachable", targets):
            raise ToolError(f"{targets[-1]} is unreachable")
        try:
            return engine.before_facts(tx.world, operation, params)
        except engine.LabError as exc:
            raise ToolError(str(exc)) from None


@mcp.tool()
def post_check(operation: str, params: dict[str, Any], checks: list[str]) -> dict[str, Any]:
    """Run the catalogue's post-checks by name: is the symptom gone?"""
    state, targets = _read(operation, params)
    with state.tx() as tx:
        if tx.has_fault("unreachable", targets):
            raise ToolError(f"{targets[-1]} is unreachable")
        injected = tx.take_fault("postcheck_fail", targets, operation)
        results = []
        for check in checks:
            try:
                passed, seen = engine.run_check(tx.world, operation, params, check)
            except engine.LabError as exc:
                raise ToolError(str(exc)) from None
            if injected is not None:
                passed, seen = False, f"{seen} (injected post-check failure)"
            results.append({"check": check, "passed": passed, "seen": seen})
    return {"passed": all(r["passed"] for r in results), "results": results}


@mcp.tool()
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


@mcp.tool()
def write_log(limit: int = 100) -> dict[str, Any]:
    """The most recent changes the lab made (oldest first)."""
    return {"writes": _state().writes(max(1, min(limit, 1000)))}


# --- Fault tools (for demos, tests and incident replays) ----------------------------------


@mcp.tool()
def inject_fault(
    kind: str,
    target: str,
    operation: str | None = None,
    count: int = 1,
    seconds: float | None = None,
) -> dict[str, Any]:
    """Stage a failure. kind: fail (the next call of the operation fails), postcheck_fail
    (its next post-check fails), unreachable (until cleared), slow / hang (answer after
    `seconds`; a hang makes the change and answers too late), maintenance (until cleared).
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


@mcp.tool()
def set_condition(
    target: str, condition: str | None = None, interface: str | None = None
) -> dict[str, Any]:
    """Give a target a symptom (vm_hung, crash_looping, bad_release, saturated,
    interface_errors, err_disabled, flapping, volume_full, snapshot_bloat, instance_hung,
    undersized, memory_pressure, cpu_saturated), or heal it with condition=null."""
    with _state().tx() as tx:
        try:
            result = engine.set_condition(tx.world, target, condition, interface)
        except engine.LabError as exc:
            raise ToolError(str(exc)) from None
        tx.save()
    return result


@mcp.tool()
def clear_faults(target: str | None = None) -> dict[str, Any]:
    """Remove staged faults (of one target, or all) and lift maintenance."""
    with _state().tx() as tx:
        removed = tx.clear_faults(target)
        for name, obj in tx.world["objects"].items():
            if target is None or name == target.split(" ", 1)[0]:
                obj["maintenance"] = False
        tx.save()
    return {"removed": removed}


@mcp.tool()
def reset_lab() -> dict[str, Any]:
    """Put the whole lab back to its initial inventory; forget keys, faults and the log."""
    _state().reset()
    return {"reset": True}


def main(argv: list[str]) -> None:
    if len(argv) > 1 and argv[1] == "http":
        port = 8765
        if "--port" in argv:
            port = int(argv[argv.index("--port") + 1])
        host = argv[argv.index("--host") + 1] if "--host" in argv else "127.0.0.1"
        mcp.run("streamable-http", host=host, port=port, stateless_http=True, json_response=True)
    else:
        mcp.run()
