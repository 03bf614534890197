"""The lab's platform MCP server: what a connector may call.

One write tool per catalogue operation; the safety reads (``safe_to_act``,
``backup_available``, ``before_facts``, ``post_check``); and the investigation reads, one
or two per kind of object (``get_vm``, ``get_vm_metrics``, ``get_pod_logs``...), which show
signals as a real platform would and never the staged condition's name (``lab.signals``).
Staging conditions and faults, reset and the labelled inventory live on the separate control
server (``lab.control``), which no connector is given.

Write tools take the catalogue's parameters plus ``idempotency_key``: the same key again
returns the first answer (``"replayed": true``) and changes nothing; the same key with other
arguments is refused. Anticipated refusals raise ``ToolError`` (the client sees
``is_error`` with the message).

Run it: ``python -m lab`` (stdio, what the application spawns) or
``python -m lab http --port 8765`` (streamable HTTP at ``/mcp``, loopback, bearer token from
``LAB_TOKEN``; see ``lab.__main__``). The state file is
``LAB_STATE_PATH`` (default ``var/lab-state.sqlite3``). Never print to stdout here: in a
stdio server it belongs to the protocol.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from lab import engine, signals
from lab.state import Fault, LabState, Tx

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

# Truthful hints (the application never relies on them: it keeps its own list of the
# read-only tools it may call to investigate). Every write tool takes an idempotency key,
# so the same call twice has no further effect.
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
ADDITIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
DISRUPTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
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
            # What a platform's API answers: the change, never which staged condition it
            # cleared (the control server's write log and condition reads say that).
            result = {
                "status": "ok",
                "operation": operation,
                "target": target,
                "write_seq": seq,
                "replayed": False,
                "simulated": True,
                "detail": outcome["detail"],
                "changed": outcome["changed"],
            }
            tx.idem_store(key, result, is_error=False)
    if failed:
        raise ToolError(failed)
    return result


# --- The 14 write tools (names = catalogue keys) -------------------------------------------


@mcp.tool(annotations=DISRUPTIVE)
async def restart_vm(vm: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: gracefully restart a VM."""
    return await _write("restart_vm", {"vm": vm}, idempotency_key)


@mcp.tool(annotations=ADDITIVE)
async def snapshot_vm(
    vm: str, idempotency_key: str, snapshot_name: str | None = None
) -> dict[str, Any]:
    """SAFE_WRITE: take a VM snapshot."""
    return await _write("snapshot_vm", {"vm": vm, "snapshot_name": snapshot_name}, idempotency_key)


@mcp.tool(annotations=ADDITIVE)
async def increase_memory(vm: str, memory_gb: int, idempotency_key: str) -> dict[str, Any]:
    """CRITICAL_WRITE: hot-add memory to a VM (new total in GB)."""
    return await _write("increase_memory", {"vm": vm, "memory_gb": memory_gb}, idempotency_key)


@mcp.tool(annotations=ADDITIVE)
async def increase_cpu(vm: str, cpus: int, idempotency_key: str) -> dict[str, Any]:
    """CRITICAL_WRITE: hot-add vCPUs to a VM (new total)."""
    return await _write("increase_cpu", {"vm": vm, "cpus": cpus}, idempotency_key)


@mcp.tool(annotations=DISRUPTIVE)
async def restart_pod(pod: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: delete a pod (namespace/name) so its controller recreates it."""
    return await _write("restart_pod", {"pod": pod}, idempotency_key)


@mcp.tool(annotations=DISRUPTIVE)
async def scale_deployment(deployment: str, replicas: int, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: set a deployment's replica count."""
    return await _write(
        "scale_deployment", {"deployment": deployment, "replicas": replicas}, idempotency_key
    )


@mcp.tool(annotations=DISRUPTIVE)
async def rollback_deployment(
    deployment: str, idempotency_key: str, revision: int | None = None
) -> dict[str, Any]:
    """CRITICAL_WRITE: roll a deployment to an earlier revision (default: the previous)."""
    return await _write(
        "rollback_deployment", {"deployment": deployment, "revision": revision}, idempotency_key
    )


@mcp.tool(annotations=DISRUPTIVE)
async def clear_interface_errors(
    device: str, interface: str, idempotency_key: str
) -> dict[str, Any]:
    """SAFE_WRITE: clear an interface's error counters."""
    return await _write(
        "clear_interface_errors", {"device": device, "interface": interface}, idempotency_key
    )


@mcp.tool(annotations=ADDITIVE)
async def enable_port(device: str, interface: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: enable an administratively disabled or err-disabled port."""
    return await _write("enable_port", {"device": device, "interface": interface}, idempotency_key)


@mcp.tool(annotations=DISRUPTIVE)
async def restart_interface(device: str, interface: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: bounce an interface (shutdown / no shutdown)."""
    return await _write(
        "restart_interface", {"device": device, "interface": interface}, idempotency_key
    )


@mcp.tool(annotations=ADDITIVE)
async def expand_volume(volume: str, size_gb: int, idempotency_key: str) -> dict[str, Any]:
    """CRITICAL_WRITE: grow a volume to a new total size in GB."""
    return await _write("expand_volume", {"volume": volume, "size_gb": size_gb}, idempotency_key)


@mcp.tool(annotations=DISRUPTIVE)
async def clear_snapshots(
    volume: str, older_than_days: int, idempotency_key: str, keep_last: int | None = None
) -> dict[str, Any]:
    """CRITICAL_WRITE: delete a volume's snapshots older than N days, keeping the newest."""
    return await _write(
        "clear_snapshots",
        {"volume": volume, "older_than_days": older_than_days, "keep_last": keep_last},
        idempotency_key,
    )


@mcp.tool(annotations=DISRUPTIVE)
async def reboot_instance(instance: str, idempotency_key: str) -> dict[str, Any]:
    """SAFE_WRITE: soft-reboot an OpenStack instance."""
    return await _write("reboot_instance", {"instance": instance}, idempotency_key)


@mcp.tool(annotations=DISRUPTIVE)
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


@mcp.tool(annotations=READ_ONLY)
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


@mcp.tool(annotations=READ_ONLY)
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


@mcp.tool(annotations=READ_ONLY)
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


@mcp.tool(annotations=READ_ONLY)
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


# --- Investigation reads: what an engineer looks at first -----------------------------------


def _observe(read: Any, *args: Any) -> dict[str, Any]:
    """Run one signal reader in a read transaction; unreachable targets refuse; a staged
    slow_read answers late, blocking this server meanwhile (a platform API that hangs)."""
    target = str(args[0])
    targets = (target, " ".join(str(a) for a in args))
    with _state().tx() as tx:
        if tx.has_fault("unreachable", targets):
            raise ToolError(f"{target} is unreachable")
        try:
            answer: dict[str, Any] = read(tx.world, *args)
        except engine.LabError as exc:
            raise ToolError(str(exc)) from None
        slow = tx.take_fault("slow_read", targets, None)
    if slow is not None:
        time.sleep(slow.seconds or DEFAULT_SLOW_SECONDS)
    return {**answer, "simulated": True}


@mcp.tool(annotations=READ_ONLY)
def get_vm(vm: str) -> dict[str, Any]:
    """A VM's power state, guest heartbeat, VMware Tools status, console, host and size."""
    return _observe(signals.vm_summary, vm)


@mcp.tool(annotations=READ_ONLY)
def get_vm_metrics(vm: str) -> dict[str, Any]:
    """A VM's 15-minute performance: CPU use and ready time, guest memory, swap, balloon."""
    return _observe(signals.vm_metrics, vm)


@mcp.tool(annotations=READ_ONLY)
def get_vm_events(vm: str) -> dict[str, Any]:
    """A VM's recent events and alarms (vCenter's event log), newest first."""
    return _observe(signals.vm_events, vm)


@mcp.tool(annotations=READ_ONLY)
def get_host(host: str) -> dict[str, Any]:
    """An ESXi host's connection state, CPU and memory use, vCPU:pCPU ratio and its VMs."""
    return _observe(signals.host_summary, host)


@mcp.tool(annotations=READ_ONLY)
def get_pod(pod: str) -> dict[str, Any]:
    """A pod (namespace/name): phase, readiness, restarts, last termination, usage, events."""
    return _observe(signals.pod_summary, pod)


@mcp.tool(annotations=READ_ONLY)
def get_pod_logs(pod: str, lines: int = 20) -> dict[str, Any]:
    """The tail of a pod's container log (at most 200 lines)."""
    return _observe(signals.pod_logs, pod, lines)


@mcp.tool(annotations=READ_ONLY)
def get_deployment(deployment: str) -> dict[str, Any]:
    """A deployment (namespace/name): replicas, revisions with their times, error rate and
    latency now and before the last rollout, CPU use, pods."""
    return _observe(signals.deployment_summary, deployment)


@mcp.tool(annotations=READ_ONLY)
def get_device(device: str) -> dict[str, Any]:
    """A switch: reachability, uptime, CPU and its interfaces' operational status."""
    return _observe(signals.device_summary, device)


@mcp.tool(annotations=READ_ONLY)
def get_interface(device: str, interface: str) -> dict[str, Any]:
    """An interface: admin/oper status, err-disabled reason, error counters and their rate,
    flaps, last change and optical receive power."""
    return _observe(signals.interface_summary, device, interface)


@mcp.tool(annotations=READ_ONLY)
def get_volume(volume: str) -> dict[str, Any]:
    """A volume: size and use, inodes, growth rate, top directories, snapshots."""
    return _observe(signals.volume_summary, volume)


@mcp.tool(annotations=READ_ONLY)
def get_instance(instance: str) -> dict[str, Any]:
    """An OpenStack instance: status, power and task state, status checks, fault, flavor,
    utilisation and the console's last lines."""
    return _observe(signals.instance_summary, instance)
