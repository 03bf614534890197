"""The action catalogue: the only operations the system may ever suggest, decide on or run.

Pure: no Django. Everything an analyzer (local runbooks or Claude) proposes passes through
``validate_suggestions``, which keeps only catalogue operations whose parameters pass the
schema and fills platform, risk class and rollback from here. What an analyzer *claims* for
those is never trusted: ticket text is untrusted and must not widen what may run.

Vocabulary
----------
* ``action_type`` follows the design: ``safe_write`` is non-destructive (restart, clear
  counters, snapshot, scale); ``critical_write`` may destroy or durably modify something
  (resources changed, data deleted, a version replaced) and always needs human approval.
* ``rollback`` is either the key of the inverse catalogue operation, with
  ``rollback_params`` telling how its parameters are derived, or ``IRREVERSIBLE``.
  ``needs_backup`` marks the irreversible operations that change state a person could not
  recreate by hand (deleted snapshots, a grown volume); the others are irreversible only in
  the sense that there is nothing to undo (a restart ends in the state it started from).
* ``rollback_params`` values: ``"param:<name>"`` copies the forward action's parameter;
  ``"before:<fact>"`` is a value the executor must read from the target *before* running
  the forward action (the previous replica count, revision or flavor).
* ``checks`` name the post-checks the executor runs to verify the action worked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from remediation.catalogue.rules.names import HOST_NAME, INTERFACE_NAME, K8S_OBJECT


class ActionType(StrEnum):
    READ_ONLY = "read_only"
    SAFE_WRITE = "safe_write"
    CRITICAL_WRITE = "critical_write"


class Platform(StrEnum):
    VMWARE = "vmware"
    KUBERNETES = "kubernetes"
    NETWORK = "network"
    STORAGE = "storage"
    OPENSTACK = "openstack"


class ObjectKind(StrEnum):
    """What a name refers to. Parsed from ``affected_system`` and the ticket's evidence; each
    target parameter of the catalogue declares the one kind it takes."""

    VM = "vm"
    POD = "pod"
    DEPLOYMENT = "deployment"
    STATEFULSET = "statefulset"
    PVC = "pvc"
    VOLUME = "volume"
    INTERFACE = "interface"
    INSTANCE = "instance"
    NAMESPACE = "namespace"
    DEVICE = "device"
    CLUSTER = "cluster"
    NODE = "node"
    # A bare host name: a VM, an instance or a network device, decided by the platform.
    HOST = "host"


# The platform an object of each kind lives on; None: any platform with a host-like target.
KIND_PLATFORM: Mapping[ObjectKind, Platform | None] = MappingProxyType(
    {
        ObjectKind.VM: Platform.VMWARE,
        ObjectKind.POD: Platform.KUBERNETES,
        ObjectKind.DEPLOYMENT: Platform.KUBERNETES,
        ObjectKind.STATEFULSET: Platform.KUBERNETES,
        ObjectKind.PVC: Platform.KUBERNETES,
        ObjectKind.NAMESPACE: Platform.KUBERNETES,
        ObjectKind.CLUSTER: Platform.KUBERNETES,
        ObjectKind.NODE: Platform.KUBERNETES,
        ObjectKind.VOLUME: Platform.STORAGE,
        ObjectKind.INSTANCE: Platform.OPENSTACK,
        ObjectKind.DEVICE: Platform.NETWORK,
        ObjectKind.INTERFACE: Platform.NETWORK,
        ObjectKind.HOST: None,
    }
)

# A host name stands for these kinds once the platform is known.
HOST_KINDS = frozenset({ObjectKind.VM, ObjectKind.INSTANCE, ObjectKind.DEVICE})


class ParamType(StrEnum):
    STRING = "string"
    INTEGER = "integer"


IRREVERSIBLE = "irreversible"

RISK_LEVEL: Mapping[ActionType, str] = MappingProxyType(
    {
        ActionType.READ_ONLY: "low",
        ActionType.SAFE_WRITE: "medium",
        ActionType.CRITICAL_WRITE: "high",
    }
)

# Bounds on what an analyzer may hand us: a suggestion list longer than this is not a
# remediation plan, and long free text only ever reaches people (the approval page).
MAX_SUGGESTIONS = 10
MAX_ACTION_TEXT = 300
MAX_STRING_PARAM = 128

# C0 controls and DEL: never legitimate in an identifier, and dangerous in logs and shells.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Identifier shapes (``names``): ASCII only, start and end alphanumeric, no "..", so that
# whatever a connector does with the value it cannot be a path traversal, an option ("-rf")
# or whitespace-separated injection. Kubernetes objects are always namespace/name; an
# interface is one of the accepted spellings (names.INTERFACE_FAMILIES).
VOLUME_NAME = HOST_NAME
FLAVOR_NAME = HOST_NAME
SNAPSHOT_NAME = HOST_NAME


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: ParamType
    description: str
    required: bool = True
    minimum: int | None = None
    maximum: int | None = None
    pattern: re.Pattern[str] | None = None
    # The kind of object a target parameter names (None for plain values).
    kind: ObjectKind | None = None

    def check(self, value: Any) -> str | None:
        """The reason ``value`` is not acceptable for this parameter, or None."""
        if self.type is ParamType.INTEGER:
            # bool is an int subclass; True is not a replica count.
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{self.name} must be an integer"
            if self.minimum is not None and value < self.minimum:
                return f"{self.name} must be at least {self.minimum}, got {value}"
            if self.maximum is not None and value > self.maximum:
                return f"{self.name} must be at most {self.maximum}, got {value}"
            return None
        if not isinstance(value, str):
            return f"{self.name} must be a string"
        if _CONTROL.search(value):
            return f"{self.name} must not contain control characters"
        if not value or len(value) > MAX_STRING_PARAM:
            return f"{self.name} must be 1 to {MAX_STRING_PARAM} characters"
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return f"{self.name} is not a valid identifier: {value!r}"
        return None

    def to_json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type.value, "description": self.description}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.type is ParamType.STRING:
            schema["maxLength"] = MAX_STRING_PARAM
        return schema


@dataclass(frozen=True)
class Operation:
    key: str
    platform: Platform
    action_type: ActionType
    summary: str
    params: tuple[ParamSpec, ...]
    target_param: str
    rollback: str
    checks: tuple[str, ...]
    rollback_params: Mapping[str, str] = field(default_factory=dict)
    rollback_note: str = ""
    needs_backup: bool = False

    @property
    def reversible(self) -> bool:
        return self.rollback != IRREVERSIBLE

    @property
    def risk_level(self) -> str:
        return RISK_LEVEL[self.action_type]

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def check_params(self, params: Any, *, require_all: bool = True) -> list[str]:
        """Every reason ``params`` fail this operation's schema (empty when they pass).

        ``require_all=False`` skips the missing-required check: a runbook's default params
        leave out the target, which comes from the ticket.
        """
        if not isinstance(params, Mapping):
            return ["params must be an object"]
        errors: list[str] = []
        known = {p.name for p in self.params}
        for name in params:
            if not isinstance(name, str) or name not in known:
                errors.append(f"unknown param {_CONTROL.sub('?', str(name))[:40]!r}")
        for spec in self.params:
            if spec.name in params:
                reason = spec.check(params[spec.name])
                if reason:
                    errors.append(reason)
            elif spec.required and require_all:
                errors.append(f"missing required param {spec.name}")
        return errors

    def describe(self, params: Mapping[str, Any]) -> str:
        """A sentence a person reads on the approval page."""
        target = params.get(self.target_param, "?")
        extras = ", ".join(f"{k}={v}" for k, v in params.items() if k != self.target_param)
        return f"{self.summary} on {target}" + (f" ({extras})" if extras else "")


def _string(
    name: str,
    description: str,
    pattern: re.Pattern[str],
    *,
    required: bool = True,
    kind: ObjectKind | None = None,
):
    return ParamSpec(
        name, ParamType.STRING, description, required=required, pattern=pattern, kind=kind
    )


def _integer(name: str, description: str, low: int, high: int, *, required: bool = True):
    return ParamSpec(name, ParamType.INTEGER, description, required, minimum=low, maximum=high)


_VM = _string("vm", "VM name, e.g. prod-web-01", HOST_NAME, kind=ObjectKind.VM)
_POD = _string("pod", "namespace/pod, e.g. default/web-7d9f", K8S_OBJECT, kind=ObjectKind.POD)
_DEPLOYMENT = _string(
    "deployment", "namespace/deployment, e.g. default/web", K8S_OBJECT, kind=ObjectKind.DEPLOYMENT
)
_DEVICE = _string(
    "device", "switch or router name, e.g. core-sw-01", HOST_NAME, kind=ObjectKind.DEVICE
)
_INTERFACE = _string(
    "interface", "interface name, e.g. Gi0/1", INTERFACE_NAME, kind=ObjectKind.INTERFACE
)
_VOLUME = _string("volume", "volume name, e.g. vol-data-01", VOLUME_NAME, kind=ObjectKind.VOLUME)
_INSTANCE = _string(
    "instance", "instance name, e.g. app-instance-03", HOST_NAME, kind=ObjectKind.INSTANCE
)

_OPERATIONS = (
    # --- VMware ----------------------------------------------------------------------
    Operation(
        "restart_vm",
        Platform.VMWARE,
        ActionType.SAFE_WRITE,
        "Gracefully restart the VM",
        (_VM,),
        "vm",
        # A restart ends where it started (same VM, same configuration): there is nothing
        # to undo, and "power off" would make things worse. The post-checks catch a VM that
        # does not come back.
        IRREVERSIBLE,
        ("vm_powered_on", "vm_tools_running"),
        rollback_note="Nothing to undo: the VM returns in the same configuration.",
    ),
    Operation(
        "snapshot_vm",
        Platform.VMWARE,
        ActionType.SAFE_WRITE,
        "Take a snapshot of the VM",
        (_VM, _string("snapshot_name", "name for the snapshot", SNAPSHOT_NAME, required=False)),
        "vm",
        # The inverse (delete the snapshot) is not a catalogue operation, on purpose: an
        # automatic delete is the risky direction. A leftover snapshot is harmless beyond
        # the disk it uses; a person removes it.
        IRREVERSIBLE,
        ("snapshot_exists",),
        rollback_note="Harmless to leave: the snapshot is removed by a person if unwanted.",
    ),
    Operation(
        "increase_memory",
        Platform.VMWARE,
        ActionType.CRITICAL_WRITE,
        "Increase the VM's memory",
        (_VM, _integer("memory_gb", "new total memory in GB", 1, 1024)),
        "vm",
        # vSphere hot-adds memory but cannot hot-remove it: shrinking needs a power-off in
        # a change window, which is not something to do automatically after a failure.
        IRREVERSIBLE,
        ("vm_powered_on", "vm_memory_matches"),
        rollback_note="Memory cannot be hot-removed; reducing it is a planned change.",
    ),
    Operation(
        "increase_cpu",
        Platform.VMWARE,
        ActionType.CRITICAL_WRITE,
        "Add vCPUs to the VM",
        (_VM, _integer("cpus", "new total number of vCPUs", 1, 128)),
        "vm",
        # Same as memory: vCPU hot-remove is not supported by vSphere.
        IRREVERSIBLE,
        ("vm_powered_on", "vm_cpu_matches"),
        rollback_note="vCPUs cannot be hot-removed; reducing them is a planned change.",
    ),
    # --- Kubernetes ------------------------------------------------------------------
    Operation(
        "restart_pod",
        Platform.KUBERNETES,
        ActionType.SAFE_WRITE,
        "Delete the pod so its controller recreates it",
        (_POD,),
        "pod",
        # The controller recreates the pod from the same spec; nothing to restore.
        IRREVERSIBLE,
        ("pod_running", "deployment_ready"),
        rollback_note="Nothing to undo: the controller recreates the pod from its spec.",
    ),
    Operation(
        "scale_deployment",
        Platform.KUBERNETES,
        ActionType.SAFE_WRITE,
        "Change the deployment's replica count",
        (_DEPLOYMENT, _integer("replicas", "desired replica count", 0, 100)),
        "deployment",
        "scale_deployment",
        ("deployment_ready", "replicas_match"),
        rollback_params={"deployment": "param:deployment", "replicas": "before:replicas"},
        rollback_note="Scale back to the replica count read before the change.",
    ),
    Operation(
        "rollback_deployment",
        Platform.KUBERNETES,
        ActionType.CRITICAL_WRITE,
        "Roll the deployment back to an earlier revision",
        (
            _DEPLOYMENT,
            _integer(
                "revision",
                "revision to return to (omit for the previous one)",
                1,
                100_000,
                required=False,
            ),
        ),
        "deployment",
        # Rolling back is itself a rollout: returning to the revision that was live before
        # is the inverse.
        "rollback_deployment",
        ("deployment_ready", "rollout_complete"),
        rollback_params={"deployment": "param:deployment", "revision": "before:revision"},
        rollback_note="Roll forward again to the revision read before the change.",
    ),
    # --- Network ---------------------------------------------------------------------
    Operation(
        "clear_interface_errors",
        Platform.NETWORK,
        ActionType.SAFE_WRITE,
        "Clear the interface's error counters",
        (_DEVICE, _INTERFACE),
        "device",
        # Counters are diagnostics; old values are in the monitoring history, not needed.
        IRREVERSIBLE,
        ("interface_up", "interface_errors_cleared"),
        rollback_note="Nothing to undo: only counters are reset.",
    ),
    Operation(
        "enable_port",
        Platform.NETWORK,
        ActionType.SAFE_WRITE,
        "Enable the administratively disabled port",
        (_DEVICE, _INTERFACE),
        "device",
        # "shutdown" is deliberately not in the catalogue: an automated port shutdown can
        # cut off the very link we manage the device through. A port that misbehaves after
        # being enabled is shut by a person.
        IRREVERSIBLE,
        ("interface_up",),
        rollback_note="Disabling a port is left to a person (risk of cutting management).",
    ),
    Operation(
        "restart_interface",
        Platform.NETWORK,
        ActionType.SAFE_WRITE,
        "Bounce the interface (shutdown / no shutdown)",
        (_DEVICE, _INTERFACE),
        "device",
        # A bounce ends in the admin state it started in.
        IRREVERSIBLE,
        ("interface_up",),
        rollback_note="Nothing to undo: the interface ends in its original admin state.",
    ),
    # --- Storage ---------------------------------------------------------------------
    Operation(
        "expand_volume",
        Platform.STORAGE,
        ActionType.CRITICAL_WRITE,
        "Grow the volume",
        (_VOLUME, _integer("size_gb", "new total size in GB", 1, 65_536)),
        "volume",
        # Volumes and file systems grow online but cannot shrink: irreversible, so the
        # decision engine's backup check applies.
        IRREVERSIBLE,
        ("volume_online", "volume_size_matches"),
        rollback_note="Volumes cannot shrink.",
        needs_backup=True,
    ),
    Operation(
        "clear_snapshots",
        Platform.STORAGE,
        ActionType.CRITICAL_WRITE,
        "Delete the volume's old snapshots",
        (
            _VOLUME,
            _integer("older_than_days", "delete snapshots older than this many days", 1, 3650),
            _integer("keep_last", "always keep this many newest snapshots", 1, 100, required=False),
        ),
        "volume",
        # Deleted snapshots are gone: a backup must exist before this runs.
        IRREVERSIBLE,
        ("volume_online", "snapshots_retained"),
        rollback_note="Deleted snapshots cannot be restored.",
        needs_backup=True,
    ),
    # --- OpenStack -------------------------------------------------------------------
    Operation(
        "reboot_instance",
        Platform.OPENSTACK,
        ActionType.SAFE_WRITE,
        "Soft-reboot the instance",
        (_INSTANCE,),
        "instance",
        IRREVERSIBLE,
        ("instance_active",),
        rollback_note="Nothing to undo: the instance returns in the same configuration.",
    ),
    Operation(
        "resize_instance",
        Platform.OPENSTACK,
        ActionType.CRITICAL_WRITE,
        "Resize the instance to another flavor",
        (_INSTANCE, _string("flavor", "target flavor, e.g. m1.large", FLAVOR_NAME)),
        "instance",
        # Nova resizes in both directions: resizing back to the old flavor is the inverse.
        "resize_instance",
        ("instance_active", "instance_flavor_matches"),
        rollback_params={"instance": "param:instance", "flavor": "before:flavor"},
        rollback_note="Resize back to the flavor read before the change.",
    ),
)

CATALOGUE: Mapping[str, Operation] = MappingProxyType({op.key: op for op in _OPERATIONS})


def get_operation(key: Any) -> Operation | None:
    return CATALOGUE.get(key) if isinstance(key, str) else None


@dataclass(frozen=True)
class SuggestedAction:
    """One validated action: a catalogue operation with a target and checked parameters."""

    action: str
    system: str
    operation: str
    platform: str
    params: Mapping[str, Any]
    action_type: str
    rollback: str

    @property
    def risk_level(self) -> str:
        return RISK_LEVEL[ActionType(self.action_type)]

    def to_dict(self) -> dict[str, Any]:
        """The item shape (docs/analysis.md) stored in ``Ticket.suggested_actions``."""
        return {
            "action": self.action,
            "system": self.system,
            "operation": self.operation,
            "platform": self.platform,
            "params": dict(self.params),
            "action_type": self.action_type,
            "rollback": self.rollback,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SuggestedAction:
        """Rebuild a stored action, re-validated: stored JSON is not trusted either.

        Raises ValueError naming the reason when it no longer passes the catalogue.
        """
        actions, dropped = validate_suggestions([data])
        if not actions:
            raise ValueError(dropped[0])
        return actions[0]


# Parameters that make an operation destructive: (operation, param) -> how to tell from the
# new value and, when known, the current one. Down-scaling by more than half or to zero takes
# capacity away from a service that is already in trouble; shrinking memory or vCPUs needs a
# power cycle. These raise the operation to critical_write (always a person), never lower it.
SHRINK_FACTOR = 0.5


def effective_action_type(
    operation: Operation, params: Mapping[str, Any], current: Mapping[str, Any] | None = None
) -> tuple[ActionType, str]:
    """The risk class of ``operation`` with these ``params`` and the reason it was raised.

    ``current`` holds facts read from the target (``replicas``, ``memory_gb``, ``cpus``) when
    known; without them only what the parameters alone show is judged (replicas 0).
    """
    base = operation.action_type
    if base is ActionType.CRITICAL_WRITE:
        return base, ""
    current = current or {}
    for name in ("replicas", "memory_gb", "cpus", "size_gb"):
        new = params.get(name)
        if isinstance(new, bool) or not isinstance(new, int):
            continue
        if name == "replicas" and new == 0:
            return ActionType.CRITICAL_WRITE, "scaling to zero replicas stops the service"
        old = current.get(name)
        if isinstance(old, bool) or not isinstance(old, int) or old <= 0:
            continue
        if name == "replicas" and new < old * SHRINK_FACTOR:
            return (
                ActionType.CRITICAL_WRITE,
                f"scaling down by more than half ({old} -> {new} replicas)",
            )
        if name != "replicas" and new < old:
            return ActionType.CRITICAL_WRITE, f"shrinking {name} ({old} -> {new})"
    return base, ""


# Operations that exist to add capacity, and the parameter that says how much: for these, a
# value at or below what the platform reports now is not the fix (a saturated 2-replica
# deployment is not helped by 1 replica), whoever proposed it.
GROWS: dict[str, str] = {
    "scale_deployment": "replicas",
    "increase_memory": "memory_gb",
    "increase_cpu": "cpus",
    "expand_volume": "size_gb",
}
GROWTH_WORDS = {
    "replicas": "scaling out must add replicas",
    "memory_gb": "a memory increase must increase the memory",
    "cpus": "a vCPU increase must add vCPUs",
    "size_gb": "an expansion must grow the volume",
}


def growth_refusal(
    operation: str, params: Mapping[str, Any], current: Mapping[str, Any] | None
) -> str:
    """Why ``params`` do not add capacity over the observed ``current`` state ("" when they
    do, or when the operation is not a capacity one, or nothing current is known)."""
    name = GROWS.get(operation)
    if name is None or not current:
        return ""
    new, old = params.get(name), current.get(name)
    if isinstance(new, bool) or not isinstance(new, int):
        return ""
    if isinstance(old, bool) or not isinstance(old, int | float) or old <= 0:
        return ""
    if new <= old:
        return f"{GROWTH_WORDS[name]} ({name} is {int(old)} now; {new} was proposed)"
    return ""


def _label(raw: Any, index: int) -> str:
    """How to name a suggestion in a reason: its operation (bounded, printable) and index."""
    op = raw.get("operation") if isinstance(raw, Mapping) else None
    if isinstance(op, str):
        shown = _CONTROL.sub("?", op)[:60]
        return f"suggestion {index + 1} ({shown!r})"
    return f"suggestion {index + 1}"


def _clean_text(value: str) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())[:MAX_ACTION_TEXT]


def _validate_one(raw: Any) -> SuggestedAction | str:
    if not isinstance(raw, Mapping):
        return "is not an object"
    operation = get_operation(raw.get("operation"))
    if operation is None:
        return "operation is not in the catalogue"
    params_raw = raw.get("params", {})
    if params_raw is None:
        params_raw = {}
    if not isinstance(params_raw, Mapping):
        return "params must be an object"
    params = dict(params_raw)
    system = raw.get("system")
    if system is not None and not isinstance(system, str):
        return "system must be a string"
    # The target may come as `system` (the design's name for it) or as the target param;
    # when both are given they must agree, or we would show one and run the other.
    if system and operation.target_param not in params:
        params[operation.target_param] = system
    elif system and params.get(operation.target_param) != system:
        return f"system {system[:60]!r} does not match param {operation.target_param}"
    errors = operation.check_params(params)
    if errors:
        return "; ".join(errors)
    text = raw.get("action")
    action = _clean_text(text) if isinstance(text, str) else ""
    action_type, _ = effective_action_type(operation, params)
    return SuggestedAction(
        action=action or operation.describe(params),
        system=params[operation.target_param],
        operation=operation.key,
        platform=operation.platform.value,
        params=MappingProxyType(params),
        action_type=action_type.value,
        rollback=operation.rollback,
    )


def validate_suggestions(
    raw: Iterable[Mapping[str, Any]] | Any,
) -> tuple[list[SuggestedAction], list[str]]:
    """Keep the suggestions the catalogue allows; name every other one with its reason.

    Never raises, whatever ``raw`` holds. Platform, action type and rollback always come
    from the catalogue. Duplicates and anything past ``MAX_SUGGESTIONS`` are dropped.
    """
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Iterable):
        return [], ["suggested actions must be a list"]
    kept: list[SuggestedAction] = []
    dropped: list[str] = []
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for index, item in enumerate(raw):
        if index >= MAX_SUGGESTIONS:
            dropped.append(f"suggestions after the first {MAX_SUGGESTIONS} were ignored")
            break
        result = _validate_one(item)
        if isinstance(result, str):
            dropped.append(f"{_label(item, index)} dropped: {result}")
            continue
        identity = (result.operation, tuple(sorted((k, repr(v)) for k, v in result.params.items())))
        if identity in seen:
            dropped.append(f"{_label(item, index)} dropped: duplicate of an earlier action")
            continue
        seen.add(identity)
        kept.append(result)
    return kept, dropped


def plan_rollback(action: SuggestedAction, before: Mapping[str, Any]) -> SuggestedAction | None:
    """The inverse action of ``action``, given facts read from the target before it ran.

    None when the operation is irreversible. Raises ValueError when a ``before:`` fact is
    missing or the derived action fails the schema (then no rollback can be trusted).
    """
    operation = CATALOGUE[action.operation]
    if not operation.reversible:
        return None
    inverse = CATALOGUE[operation.rollback]
    params: dict[str, Any] = {}
    for name, source in operation.rollback_params.items():
        kind, _, key = source.partition(":")
        mapping = action.params if kind == "param" else before
        if key not in mapping:
            spec = inverse.param(name)
            # An optional inverse param may stay unset: `rollout undo` without a revision
            # returns to the revision that was live before, which is what we want.
            if kind == "before" and spec is not None and not spec.required:
                continue
            raise ValueError(f"rollback of {action.operation} needs {source}")
        params[name] = mapping[key]
    actions, dropped = validate_suggestions(
        [{"operation": inverse.key, "params": params, "action": f"Roll back: {action.action}"}]
    )
    if not actions:
        raise ValueError(dropped[0])
    return actions[0]
