"""What each lab tool does to the lab's state: pure functions over plain dicts, no I/O.

``world`` is ``{"objects": {target: dict}, "hosts": {host: dict}}`` as ``inventory`` builds
it. Write operations mutate it and return what changed; read functions never mutate.

Two questions are kept apart on purpose (see docs/execution.md):

* ``safe_to_act`` is the *pre-check*: can this action run safely now? The target exists and
  is reachable, the host/cluster/switch/array has capacity for the change, nothing else is
  in flight on the target, the target is not in maintenance. A hung VM is safe to restart:
  the symptom is why we act, so it is not part of the pre-check.
* ``post_check`` runs the catalogue's ``checks`` after the action: is the symptom gone?
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from lab.inventory import FLAVORS


class LabError(Exception):
    """An anticipated refusal: unknown target, no capacity, invalid change."""


# The 14 catalogue operations: platform, the param naming the target, and for network
# operations the param naming the interface inside the device.
OPERATIONS: dict[str, dict[str, str]] = {
    "restart_vm": {"platform": "vmware", "target": "vm"},
    "snapshot_vm": {"platform": "vmware", "target": "vm"},
    "increase_memory": {"platform": "vmware", "target": "vm"},
    "increase_cpu": {"platform": "vmware", "target": "vm"},
    "restart_pod": {"platform": "kubernetes", "target": "pod"},
    "scale_deployment": {"platform": "kubernetes", "target": "deployment"},
    "rollback_deployment": {"platform": "kubernetes", "target": "deployment"},
    "clear_interface_errors": {"platform": "network", "target": "device", "sub": "interface"},
    "enable_port": {"platform": "network", "target": "device", "sub": "interface"},
    "restart_interface": {"platform": "network", "target": "device", "sub": "interface"},
    "expand_volume": {"platform": "storage", "target": "volume"},
    "clear_snapshots": {"platform": "storage", "target": "volume"},
    "reboot_instance": {"platform": "openstack", "target": "instance"},
    "resize_instance": {"platform": "openstack", "target": "instance"},
}

# Symptoms a target (or an interface) can have, and the operations that clear each. An
# incident replay stages a condition, runs the remediation, and asks whether it is gone.
CLEARED_BY: dict[str, tuple[str, ...]] = {
    "vm_hung": ("restart_vm",),
    "memory_pressure": ("increase_memory",),
    "cpu_saturated": ("increase_cpu",),
    "crash_looping": ("restart_pod",),
    "bad_release": ("rollback_deployment",),
    "saturated": ("scale_deployment",),
    "interface_errors": ("clear_interface_errors",),
    "err_disabled": ("enable_port",),
    "flapping": ("restart_interface",),
    "volume_full": ("expand_volume",),
    "snapshot_bloat": ("clear_snapshots",),
    "instance_hung": ("reboot_instance",),
    "undersized": ("resize_instance",),
}
# Look-alikes no catalogue operation clears (the right answer is a person): a host
# oversubscribed, a container over its memory limit or with a bad configuration, a failing
# dependency, a bad cable or optic, runaway logs, an instance in ERROR.
CONDITIONS_BY_KIND: dict[str, tuple[str, ...]] = {
    "vm": ("vm_hung", "memory_pressure", "cpu_saturated", "cpu_contention"),
    "pod": ("crash_looping", "oom_killed", "config_error"),
    "deployment": ("bad_release", "saturated", "dependency_down"),
    "interface": ("interface_errors", "err_disabled", "flapping", "physical_fault"),
    "volume": ("volume_full", "snapshot_bloat", "log_growth"),
    "instance": ("instance_hung", "undersized", "instance_error"),
}

FULL_RATIO = 0.9  # a volume above this share used counts as full

# Conditions that belong to a setting rather than to an event, and the write that changes
# that setting. The write clears the condition; a later write that puts the setting back
# (an execution's rollback, say) brings it back, as on a real platform: the load that
# saturated 2 replicas saturates 2 replicas again, the bad release is bad again when rolled
# forward to, the workload outgrows the smaller flavor again. A restart, a reboot or a
# bounce clears an event for good: there is nothing for a rollback to bring back.
# What a write cleared is kept in ``world["cleared"]`` by target, until staging anew.
RETURNS_WITH: dict[str, tuple[str, str]] = {
    "saturated": ("scale_deployment", "replicas"),
    "bad_release": ("rollback_deployment", "revision"),
    "undersized": ("resize_instance", "flavor"),
}


# --- Looking things up -------------------------------------------------------------------


def operation_spec(operation: str) -> dict[str, str]:
    spec = OPERATIONS.get(operation)
    if spec is None:
        raise LabError(f"unknown operation {operation!r}")
    return spec


def target_of(operation: str, params: Mapping[str, Any]) -> str:
    """The target name of an action: ``prod-web-01``, ``default/web``, ``core-sw-01 Gi0/1``."""
    spec = operation_spec(operation)
    name = params.get(spec["target"])
    if not isinstance(name, str) or not name:
        raise LabError(f"{operation} needs {spec['target']}")
    if "sub" in spec:
        sub = params.get(spec["sub"])
        if not isinstance(sub, str) or not sub:
            raise LabError(f"{operation} needs {spec['sub']}")
        return f"{name} {sub}"
    return name


def get_object(world: dict[str, Any], name: str) -> dict[str, Any]:
    obj = world["objects"].get(name)
    if obj is None:
        raise LabError(f"unknown target {name!r}: not in the lab's inventory")
    return obj


def _lookup(
    world: dict[str, Any], operation: str, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the object, the thing that carries the condition): the interface for network ops."""
    spec = operation_spec(operation)
    obj = get_object(world, str(params.get(spec["target"])))
    expected = {
        "vm": "vm",
        "pod": "pod",
        "deployment": "deployment",
        "device": "device",
        "volume": "volume",
        "instance": "instance",
    }[spec["target"]]
    if obj["kind"] != expected:
        raise LabError(f"{params.get(spec['target'])!r} is a {obj['kind']}, not a {expected}")
    if "sub" in spec:
        interface = obj["interfaces"].get(str(params.get(spec["sub"])))
        if interface is None:
            device, name = params.get(spec["target"]), params.get(spec["sub"])
            raise LabError(f"device {device!r} has no interface {name!r}")
        return obj, interface
    return obj, obj


def _int(params: Mapping[str, Any], name: str) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LabError(f"{name} must be an integer")
    return value


# --- Conditions --------------------------------------------------------------------------


def set_condition(
    world: dict[str, Any], target: str, condition: str | None, interface: str | None = None
) -> dict[str, Any]:
    """Give ``target`` (or its ``interface``) a symptom, or clear it (``None``)."""
    obj = get_object(world, target)
    holder = obj
    kind = obj["kind"]
    if kind == "device":
        if interface is None:
            raise LabError("a network condition is set on an interface: name it")
        holder = obj["interfaces"].get(interface)
        if holder is None:
            raise LabError(f"device {target!r} has no interface {interface!r}")
        kind = "interface"
    if condition is not None and condition not in CONDITIONS_BY_KIND.get(kind, ()):
        known = ", ".join(CONDITIONS_BY_KIND.get(kind, ()))
        raise LabError(f"a {kind} cannot have condition {condition!r} (known: {known})")
    _apply_symptom(world, obj, holder, kind, condition)
    # Staged anew: what a write cleared earlier does not come back.
    world.get("cleared", {}).pop(target, None)
    return {"target": target, "interface": interface, "condition": condition}


def _apply_symptom(
    world: dict[str, Any],
    obj: dict[str, Any],
    holder: dict[str, Any],
    kind: str,
    condition: str | None,
) -> None:
    """Make the state show the symptom (or heal it), so checks read real fields."""
    old = holder.get("condition")
    holder["condition"] = condition
    # When it was staged: the signals age with it (a heartbeat lost for N minutes).
    holder["condition_at"] = time.time() if condition is not None else None
    if kind == "vm":
        obj["tools"] = "not running" if condition == "vm_hung" else "running"
    elif kind == "pod":
        obj["phase"] = "CrashLoopBackOff" if condition is not None else "Running"
    elif kind == "instance":
        obj["status"] = "ERROR" if condition == "instance_error" else "ACTIVE"
    elif kind == "deployment":
        _deployment_symptom(world, obj, old, condition)
    elif kind == "interface":
        _interface_symptom(holder, condition)
    elif kind == "volume":
        if condition == "volume_full":
            obj["used_gb"] = int(obj["size_gb"] * 0.99)
        elif condition == "snapshot_bloat":
            # Eight old snapshots holding about half the volume's size between them.
            size = max(1, int(obj["size_gb"] * 0.06))
            obj["snapshots"].extend(
                {"name": f"snap-old-{n}", "age_days": 100 + n, "size_gb": size} for n in range(8)
            )


def _deployment_symptom(
    world: dict[str, Any], obj: dict[str, Any], old: str | None, condition: str | None
) -> None:
    """A bad release makes the deployment unready and its pods crash-loop; healing it
    brings both back."""
    if condition == "bad_release":
        obj["ready_replicas"] = 0
    elif old == "bad_release" or condition is None:
        obj["ready_replicas"] = obj["replicas"]
    for pod in world["objects"].values():
        if pod["kind"] == "pod" and world["objects"].get(pod["deployment"]) is obj:
            if condition == "bad_release":
                pod["phase"] = "CrashLoopBackOff"
                pod["condition"] = "crash_looping"
            elif old == "bad_release":
                pod["phase"] = "Running"
                pod["condition"] = None


def _interface_symptom(holder: dict[str, Any], condition: str | None) -> None:
    if condition == "interface_errors":
        holder["errors"] = max(holder["errors"], 1500)
    elif condition == "err_disabled":
        holder["oper"] = "err-disabled"
    elif condition == "flapping":
        holder["oper"] = "flapping"
    elif condition is None:
        holder["oper"] = "up" if holder["admin"] == "up" else "down"


def condition_of(world: dict[str, Any], target: str, interface: str | None = None) -> str | None:
    obj = get_object(world, target)
    if obj["kind"] == "device":
        if interface is None:
            found = [i["condition"] for i in obj["interfaces"].values() if i["condition"]]
            return found[0] if found else None
        holder = obj["interfaces"].get(interface)
        if holder is None:
            raise LabError(f"device {target!r} has no interface {interface!r}")
        return holder["condition"]
    return obj.get("condition")


def _clear(
    world: dict[str, Any], obj: dict[str, Any], holder: dict[str, Any], kind: str, operation: str
) -> bool:
    """Clear the holder's condition when ``operation`` is what clears it."""
    condition = holder.get("condition")
    if condition is not None and operation in CLEARED_BY.get(condition, ()):
        _apply_symptom(world, obj, holder, kind, None)
        return True
    return False


# --- Write operations --------------------------------------------------------------------


def _returns(condition: str, setting: Any, now: Any) -> bool:
    """Whether a ``condition`` cleared at ``setting`` is back with the setting ``now``."""
    if condition == "saturated":  # no more replicas than when it was saturated
        return isinstance(now, int) and isinstance(setting, int) and now <= setting
    if condition == "undersized":  # no more vCPUs than the flavor it outgrew
        if now not in FLAVORS or setting not in FLAVORS:
            return False
        return bool(FLAVORS[now]["vcpus"] <= FLAVORS[setting]["vcpus"])
    return bool(now == setting)  # the bad revision itself


def _bring_back(
    world: dict[str, Any], target: str, obj: dict[str, Any], kind: str, operation: str
) -> None:
    """After ``operation`` changed a setting: the condition it once cleared, if the setting
    is back where that condition lived. Restored as it was, with its staging time."""
    cleared = world.get("cleared", {}).get(target)
    if cleared is None or obj.get("condition") is not None:
        return
    condition = cleared["condition"]
    write, setting = RETURNS_WITH[condition]
    if write != operation or not _returns(condition, cleared["setting"], obj[setting]):
        return
    _apply_symptom(world, obj, obj, kind, condition)
    obj["condition_at"] = cleared["condition_at"]
    del world["cleared"][target]


def apply(world: dict[str, Any], operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``operation``: change the state, return {"detail", "changed", "cleared"}."""
    obj, holder = _lookup(world, operation, params)
    target = target_of(operation, params)
    kind = "interface" if obj["kind"] == "device" else obj["kind"]
    cleared_from, cleared_at = holder.get("condition"), holder.get("condition_at")
    setting_before = {name: obj.get(name) for _write, name in RETURNS_WITH.values()}
    handler = _WRITES[operation]
    detail, changed = handler(world, obj, holder, params)
    heals = changed.pop("heals", True)
    cleared = heals and _clear(world, obj, holder, kind, operation)
    if cleared and cleared_from in RETURNS_WITH:
        world.setdefault("cleared", {})[target] = {
            "condition": cleared_from,
            "condition_at": cleared_at,
            "setting": setting_before[RETURNS_WITH[cleared_from][1]],
        }
    elif not cleared:
        _bring_back(world, target, obj, kind, operation)
    # A pod restarted while its release is bad comes back crash-looping.
    if obj["kind"] == "pod":
        deployment = world["objects"].get(obj["deployment"])
        if deployment is not None and deployment.get("condition") == "bad_release":
            obj["phase"] = "CrashLoopBackOff"
            obj["condition"] = "crash_looping"
            cleared = False
    return {
        "detail": detail,
        "changed": changed,
        "cleared": cleared_from if cleared else None,
    }


def _restart_vm(world, vm, holder, params):
    vm["power"] = "on"
    vm["restarts"] += 1
    vm["tools"] = "running" if vm["condition"] != "vm_hung" else vm["tools"]
    return "VM restarted gracefully", {"restarts": vm["restarts"]}


def _snapshot_vm(world, vm, holder, params):
    name = params.get("snapshot_name") or f"snap-{len(vm['snapshots']) + 1}"
    if name in vm["snapshots"]:
        raise LabError(f"snapshot {name!r} already exists")
    vm["snapshots"].append(name)
    return f"snapshot {name} taken", {"snapshot": name}


def _increase_memory(world, vm, holder, params):
    new = _int(params, "memory_gb")
    if new <= vm["memory_gb"]:
        raise LabError(f"memory_gb {new} is not more than the current {vm['memory_gb']}")
    host = world["hosts"][vm["host"]]
    delta = new - vm["memory_gb"]
    if host["free_memory_gb"] < delta:
        raise LabError(f"host {vm['host']} has only {host['free_memory_gb']} GB free")
    host["free_memory_gb"] -= delta
    old, vm["memory_gb"] = vm["memory_gb"], new
    return f"memory {old} -> {new} GB", {"memory_gb": new, "previous_memory_gb": old}


def _increase_cpu(world, vm, holder, params):
    new = _int(params, "cpus")
    if new <= vm["cpus"]:
        raise LabError(f"cpus {new} is not more than the current {vm['cpus']}")
    host = world["hosts"][vm["host"]]
    delta = new - vm["cpus"]
    if host["free_cpus"] < delta:
        raise LabError(f"host {vm['host']} has only {host['free_cpus']} free vCPUs")
    host["free_cpus"] -= delta
    old, vm["cpus"] = vm["cpus"], new
    return f"vCPUs {old} -> {new}", {"cpus": new, "previous_cpus": old}


def _restart_pod(world, pod, holder, params):
    pod["generation"] += 1
    pod["restarts"] = 0
    pod["phase"] = "Running"
    return "pod deleted and recreated by its controller", {"generation": pod["generation"]}


def _scale_deployment(world, dep, holder, params):
    new = _int(params, "replicas")
    if new > dep["max_replicas"]:
        raise LabError(f"replicas {new} exceeds the namespace quota of {dep['max_replicas']}")
    old = dep["replicas"]
    dep["replicas"] = new
    if dep["condition"] != "bad_release":
        dep["ready_replicas"] = new
    # Saturation is relieved only by adding replicas.
    if dep["condition"] == "saturated" and new <= old:
        return f"replicas {old} -> {new}", {"replicas": new, "heals": False}
    return f"replicas {old} -> {new}", {"replicas": new, "previous_replicas": old}


def _rollback_deployment(world, dep, holder, params):
    current = dep["revision"]
    wanted = params.get("revision")
    if wanted is None:
        earlier = [int(r) for r in dep["history"] if int(r) < current]
        if not earlier:
            raise LabError("no earlier revision to roll back to")
        wanted = max(earlier)
    if isinstance(wanted, bool) or not isinstance(wanted, int) or str(wanted) not in dep["history"]:
        raise LabError(f"revision {wanted!r} is not in the rollout history")
    if wanted == current:
        raise LabError(f"revision {wanted} is already live")
    dep["revision"] = wanted
    return f"rolled {current} -> {wanted}", {"revision": wanted, "previous_revision": current}


def _clear_interface_errors(world, device, interface, params):
    old = interface["errors"]
    interface["errors"] = 0
    return f"error counters cleared ({old} -> 0)", {"errors": 0, "previous_errors": old}


def _enable_port(world, device, interface, params):
    interface["admin"] = "up"
    interface["oper"] = "up"
    return "port enabled", {"admin": "up"}


def _restart_interface(world, device, interface, params):
    interface["bounces"] += 1
    interface["oper"] = "up" if interface["admin"] == "up" else "down"
    return "interface bounced", {"bounces": interface["bounces"]}


def _expand_volume(world, vol, holder, params):
    new = _int(params, "size_gb")
    if new <= vol["size_gb"]:
        raise LabError(f"size_gb {new} is not more than the current {vol['size_gb']} (no shrink)")
    delta = new - vol["size_gb"]
    if vol["array_free_gb"] < delta:
        raise LabError(f"the array has only {vol['array_free_gb']} GB free")
    vol["array_free_gb"] -= delta
    old, vol["size_gb"] = vol["size_gb"], new
    return f"volume grown {old} -> {new} GB", {"size_gb": new, "previous_size_gb": old}


def _clear_snapshots(world, vol, holder, params):
    older = _int(params, "older_than_days")
    keep = params.get("keep_last", 1)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise LabError("keep_last must be a positive integer")
    newest_first = sorted(vol["snapshots"], key=lambda s: s["age_days"])
    kept = newest_first[:keep] + [s for s in newest_first[keep:] if s["age_days"] <= older]
    deleted = [s["name"] for s in vol["snapshots"] if s not in kept]
    vol["snapshots"] = sorted(kept, key=lambda s: s["age_days"])
    return f"{len(deleted)} snapshot(s) deleted", {"deleted": deleted}


def _reboot_instance(world, inst, holder, params):
    inst["reboots"] += 1
    inst["status"] = "ACTIVE"
    return "instance soft-rebooted", {"reboots": inst["reboots"]}


def _resize_instance(world, inst, holder, params):
    flavor = params.get("flavor")
    if flavor not in FLAVORS:
        raise LabError(f"unknown flavor {flavor!r}")
    if flavor == inst["flavor"]:
        raise LabError(f"instance already runs {flavor}")
    delta = FLAVORS[flavor]["vcpus"] - FLAVORS[inst["flavor"]]["vcpus"]
    if delta > inst["quota_vcpus_free"]:
        raise LabError(f"the project's vCPU quota has only {inst['quota_vcpus_free']} free")
    old = inst["flavor"]
    inst["quota_vcpus_free"] -= delta
    inst["flavor"] = flavor
    # A resize does not repair an instance in ERROR (a person does).
    inst["status"] = "ERROR" if inst["condition"] == "instance_error" else "ACTIVE"
    # Undersized is relieved only by a larger flavor.
    if inst["condition"] == "undersized" and delta <= 0:
        return f"resized {old} -> {flavor}", {"flavor": flavor, "heals": False}
    return f"resized {old} -> {flavor}", {"flavor": flavor, "previous_flavor": old}


_WRITES = {
    "restart_vm": _restart_vm,
    "snapshot_vm": _snapshot_vm,
    "increase_memory": _increase_memory,
    "increase_cpu": _increase_cpu,
    "restart_pod": _restart_pod,
    "scale_deployment": _scale_deployment,
    "rollback_deployment": _rollback_deployment,
    "clear_interface_errors": _clear_interface_errors,
    "enable_port": _enable_port,
    "restart_interface": _restart_interface,
    "expand_volume": _expand_volume,
    "clear_snapshots": _clear_snapshots,
    "reboot_instance": _reboot_instance,
    "resize_instance": _resize_instance,
}
assert set(_WRITES) == set(OPERATIONS)


# --- Reads: the pre-check, backups, before-facts, post-checks ----------------------------


def safe_to_act(
    world: dict[str, Any],
    operation: str,
    params: Mapping[str, Any],
    *,
    unreachable: bool,
    in_flight: str | None,
) -> dict[str, Any]:
    """The pre-check: {"safe": bool, "reasons": [why not]}. See the module docstring."""
    reasons: list[str] = []
    try:
        obj, _holder = _lookup(world, operation, params)
    except LabError as exc:
        return {"safe": False, "reasons": [str(exc)]}
    name = target_of(operation, params)
    if unreachable:
        reasons.append(f"{name} is unreachable")
    if obj.get("maintenance"):
        reasons.append(f"{name} is in maintenance")
    if in_flight:
        reasons.append(f"another operation is in flight on {name} ({in_flight})")
    check = _KIND_PRECHECKS.get(obj["kind"])
    if check is not None:
        reasons.extend(check(world, obj, operation, params, name))
    return {"safe": not reasons, "reasons": reasons}


# The shapes the pre-check and post-check helpers share: a lab object (or the world) as the
# state file holds it, an action's parameters, and what a post-check saw.
_Obj = dict[str, Any]
_Params = Mapping[str, Any]
_Seen = tuple[bool, str] | None


def _increase_reasons(what: str, want: Any, have: int, free: int, lacking: str) -> list[str]:
    """An increase of ``what`` from ``have`` to ``want`` with ``free`` spare capacity."""
    if not isinstance(want, int):
        return []
    reasons = []
    if want - have > free:
        reasons.append(lacking)
    if want <= have:
        reasons.append(f"{what} {want} is not an increase over {have}")
    return reasons


def _vm_precheck(world: _Obj, obj: _Obj, operation: str, params: _Params, name: str) -> list[str]:
    host = world["hosts"][obj["host"]]
    reasons = []
    if not host["reachable"]:
        reasons.append(f"host {obj['host']} is unreachable")
    if operation == "increase_memory":
        reasons += _increase_reasons(
            "memory_gb",
            params.get("memory_gb"),
            obj["memory_gb"],
            host["free_memory_gb"],
            f"host {obj['host']} lacks memory ({host['free_memory_gb']} GB free)",
        )
    if operation == "increase_cpu":
        reasons += _increase_reasons(
            "cpus",
            params.get("cpus"),
            obj["cpus"],
            host["free_cpus"],
            f"host {obj['host']} lacks vCPUs ({host['free_cpus']} free)",
        )
    if operation == "restart_vm" and obj["power"] != "on":
        reasons.append(f"{name} is powered off; a restart would not be graceful")
    return reasons


def _deployment_precheck(
    world: _Obj, obj: _Obj, operation: str, params: _Params, name: str
) -> list[str]:
    reasons = []
    if operation == "scale_deployment":
        want = params.get("replicas")
        if isinstance(want, int) and want > obj["max_replicas"]:
            reasons.append(f"replicas {want} exceeds the quota of {obj['max_replicas']}")
    if operation == "rollback_deployment":
        wanted = params.get("revision")
        earlier = [int(r) for r in obj["history"] if int(r) < obj["revision"]]
        if wanted is None and not earlier:
            reasons.append("no earlier revision to roll back to")
        if wanted is not None and str(wanted) not in obj["history"]:
            reasons.append(f"revision {wanted} is not in the rollout history")
    return reasons


def _device_precheck(
    world: _Obj, obj: _Obj, operation: str, params: _Params, name: str
) -> list[str]:
    return [] if obj["reachable"] else [f"switch {params.get('device')} is unreachable"]


def _volume_precheck(
    world: _Obj, obj: _Obj, operation: str, params: _Params, name: str
) -> list[str]:
    reasons = []
    if operation == "expand_volume":
        reasons += _increase_reasons(
            "size_gb",
            params.get("size_gb"),
            obj["size_gb"],
            obj["array_free_gb"],
            f"the array lacks space ({obj['array_free_gb']} GB free)",
        )
    if not obj["online"]:
        reasons.append(f"volume {name} is offline")
    return reasons


def _instance_precheck(
    world: _Obj, obj: _Obj, operation: str, params: _Params, name: str
) -> list[str]:
    if operation != "resize_instance":
        return []
    flavor = params.get("flavor")
    if flavor not in FLAVORS:
        return [f"unknown flavor {flavor!r}"]
    if FLAVORS[flavor]["vcpus"] - FLAVORS[obj["flavor"]]["vcpus"] > obj["quota_vcpus_free"]:
        return ["the project's vCPU quota is exhausted"]
    return []


# What the pre-check asks of each kind of object, beyond reachability, maintenance and
# operations in flight.
_KIND_PRECHECKS = {
    "vm": _vm_precheck,
    "deployment": _deployment_precheck,
    "device": _device_precheck,
    "volume": _volume_precheck,
    "instance": _instance_precheck,
}


def backup_available(world: dict[str, Any], operation: str, params: Mapping[str, Any]) -> bool:
    obj, _ = _lookup(world, operation, params)
    if obj["kind"] == "volume":
        return bool(obj["backup_available"])
    if obj["kind"] == "vm":
        return bool(obj["snapshots"]) or True  # VMs are in the nightly image backup
    return True


def before_facts(
    world: dict[str, Any], operation: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """The facts a rollback needs, read before the action runs (catalogue ``before:``)."""
    obj, holder = _lookup(world, operation, params)
    kind = obj["kind"]
    facts: dict[str, Any] = {}
    if kind == "vm":
        facts.update(memory_gb=obj["memory_gb"], cpus=obj["cpus"], power=obj["power"])
    elif kind == "deployment":
        facts.update(replicas=obj["replicas"], revision=obj["revision"])
    elif kind == "pod":
        facts.update(phase=obj["phase"])
    elif kind == "device":
        facts.update(admin=holder["admin"], oper=holder["oper"], errors=holder["errors"])
    elif kind == "volume":
        facts.update(size_gb=obj["size_gb"], snapshots=len(obj["snapshots"]))
    elif kind == "instance":
        facts.update(flavor=obj["flavor"], status=obj["status"])
    return facts


def run_check(
    world: dict[str, Any], operation: str, params: Mapping[str, Any], check: str
) -> tuple[bool, str]:
    """One post-check by its catalogue name: (passed, what was seen)."""
    obj, holder = _lookup(world, operation, params)
    for checks in _CHECKS:
        seen = checks(world, obj, holder, params, check)
        if seen is not None:
            return seen
    raise LabError(f"unknown check {check!r}")


def _symptom(condition: str | None) -> str:
    """What a post-check says of the symptom, without naming the staged condition."""
    return "symptom still present" if condition else "symptom gone"


def _vm_checks(world: _Obj, obj: _Obj, holder: _Obj, p: _Params, check: str) -> _Seen:
    cond = holder.get("condition")
    if check == "vm_powered_on":
        return obj["power"] == "on", f"power {obj['power']}"
    if check == "vm_tools_running":
        return obj["tools"] == "running" and cond != "vm_hung", f"tools {obj['tools']}"
    if check == "snapshot_exists":
        name = p.get("snapshot_name")
        ok = name in obj["snapshots"] if name else bool(obj["snapshots"])
        return ok, f"snapshots {obj['snapshots']}"
    if check == "vm_memory_matches":
        ok = obj["memory_gb"] == p.get("memory_gb") and cond != "memory_pressure"
        return ok, f"memory {obj['memory_gb']} GB, {_symptom(cond)}"
    if check == "vm_cpu_matches":
        ok = obj["cpus"] == p.get("cpus") and cond != "cpu_saturated"
        return ok, f"{obj['cpus']} vCPUs, {_symptom(cond)}"
    return None


def _kubernetes_checks(world: _Obj, obj: _Obj, holder: _Obj, p: _Params, check: str) -> _Seen:
    cond = holder.get("condition")
    if check == "pod_running":
        return obj["phase"] == "Running" and cond is None, f"phase {obj['phase']}"
    if check == "deployment_ready":
        dep = obj if obj["kind"] == "deployment" else world["objects"][obj["deployment"]]
        # Saturation leaves replicas ready (just too few): only a bad release makes them unready.
        ok = dep["ready_replicas"] == dep["replicas"] and dep["condition"] != "bad_release"
        return ok, f"{dep['ready_replicas']}/{dep['replicas']} ready, {_symptom(dep['condition'])}"
    if check == "replicas_match":
        ok = obj["replicas"] == p.get("replicas") and cond != "saturated"
        return ok, f"replicas {obj['replicas']}, {_symptom(cond)}"
    if check == "rollout_complete":
        wanted = p.get("revision")
        ok = cond != "bad_release" and (wanted is None or obj["revision"] == wanted)
        return ok, f"revision {obj['revision']}, {_symptom(cond)}"
    return None


def _network_checks(world: _Obj, obj: _Obj, holder: _Obj, p: _Params, check: str) -> _Seen:
    cond = holder.get("condition")
    if check == "interface_up":
        ok = holder["admin"] == "up" and holder["oper"] == "up" and cond is None
        return ok, f"admin {holder['admin']}, oper {holder['oper']}"
    if check == "interface_errors_cleared":
        return holder["errors"] == 0 and cond != "interface_errors", f"errors {holder['errors']}"
    return None


def _storage_checks(world: _Obj, obj: _Obj, holder: _Obj, p: _Params, check: str) -> _Seen:
    cond = holder.get("condition")
    if check == "volume_online":
        used = obj["used_gb"] / obj["size_gb"]
        ok = obj["online"] and used < FULL_RATIO
        return ok, f"online {obj['online']}, {used:.0%} used"
    if check == "volume_size_matches":
        return obj["size_gb"] == p.get("size_gb"), f"size {obj['size_gb']} GB"
    if check == "snapshots_retained":
        older = p.get("older_than_days", 0)
        keep = p.get("keep_last", 1)
        stale = [s for s in obj["snapshots"] if s["age_days"] > older]
        ok = len(obj["snapshots"]) >= min(keep, 1) and len(stale) <= keep
        return ok and cond != "snapshot_bloat", f"{len(obj['snapshots'])} snapshots"
    return None


def _instance_checks(world: _Obj, obj: _Obj, holder: _Obj, p: _Params, check: str) -> _Seen:
    cond = holder.get("condition")
    if check == "instance_active":
        return obj["status"] == "ACTIVE" and cond != "instance_hung", f"status {obj['status']}"
    if check == "instance_flavor_matches":
        ok = obj["flavor"] == p.get("flavor") and cond != "undersized"
        return ok, f"flavor {obj['flavor']}"
    return None


# The post-checks by platform; each answers the checks it knows and None for the others.
_CHECKS = (_vm_checks, _kubernetes_checks, _network_checks, _storage_checks, _instance_checks)


def describe(world: dict[str, Any], target: str) -> dict[str, Any]:
    """A target's state as the ``target_state`` tool shows it."""
    obj = get_object(world, target)
    out = dict(obj)
    if obj["kind"] == "vm":
        out["host_state"] = world["hosts"][obj["host"]]
    return out
