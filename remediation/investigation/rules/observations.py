"""What the investigation's observations establish. Pure: no Django, no I/O.

``read_observations`` turns the objects an investigation looked at (their tools' answers,
untrusted values read defensively) into findings: a cause with the observed values that
show it, quoted ("get_vm prod-web-01: guest heartbeat red for 412 s; VMware Tools not
running"). An object whose readings are all normal is *healthy*; one with abnormal readings
that no rule explains is *unexplained* (a person should look).

The rules read the signals a platform shows, the way an engineer tells look-alikes apart:

* VM: frozen guest (heartbeat red, Tools not running, no ping) with normal memory → hung;
  memory nearly full and swapping → memory_undersized; all vCPUs busy with low ready time →
  cpu_undersized; high CPU ready or an oversubscribed host → cpu_contention (more vCPUs make
  it worse); host not connected → host_down.
* Pod: last termination OOMKilled → oom_killed; exit code 1 soon after start →
  config_error; liveness probe failures with normal memory → hung (a wedged process).
* Deployment: errors that rose with the last rollout → bad_release; CPU saturated and
  latency up, errors not tied to a rollout → load_spike; errors with idle CPU and pods
  logging refused connections → dependency_down.
* Interface: err-disabled with no new violations → err_disabled_recovered; admin down →
  admin_down; errors rising or weak optical power → physical_layer; flapping with a clean
  physical layer → negotiation_flap; a large error total that is not growing →
  stale_counters.
* Volume: nearly full; snapshots holding a large share → snapshot_growth; a log directory
  holding most data → log_growth; inodes nearly exhausted → inode_exhaustion; else →
  data_growth.
* Instance: ERROR or a fault → instance_error; guest checks impaired with the system check
  ok → hung; CPU and memory both saturated → undersized.

The field names are the lab's (``lab.signals``); a connector to a real platform lists tools
whose answers carry the same fields.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

QUOTE_CHARS = 240

# Thresholds, named so a reader sees what "high" means.
MEMORY_FULL_PCT = 92.0
SWAP_HEAVY_PCT = 40.0
SWAP_IN_HEAVY_KBPS = 1000.0
CPU_BUSY_PCT = 90.0
CPU_READY_HIGH_PCT = 10.0
HOST_CPU_HIGH_PCT = 90.0
VOLUME_FULL_PCT = 90.0
SNAPSHOT_SHARE = 0.3
LOG_SHARE = 0.5
INODES_FULL_PCT = 95.0
ERRORS_STALE_TOTAL = 1000
ERRORS_RISING_PER_MIN = 1.0
RX_WEAK_DBM = -12.0
FLAPS_MANY = 5
ERROR_RATE_HIGH_PCT = 5.0
ERROR_RATE_NORMAL_PCT = 1.0
ROLLOUT_MATCH_MINUTES = 10
LATENCY_HIGH_MS = 1000.0


@dataclass(frozen=True)
class Finding:
    cause: str
    kind: str
    name: str
    quote: str


@dataclass(frozen=True)
class Observed:
    """What the observations establish, object by object."""

    findings: tuple[Finding, ...] = ()
    healthy: tuple[str, ...] = ()  # "vm prod-web-01"
    unexplained: tuple[str, ...] = ()  # quotes of abnormal readings no rule explains
    facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per object name

    @property
    def causes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.cause for f in self.findings))


def _num(answer: Mapping[str, Any], key: str, default: float | None = None) -> float | None:
    value = answer.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value) if math.isfinite(value) else default


def _str(answer: Mapping[str, Any], key: str) -> str:
    value = answer.get(key)
    return value[:200] if isinstance(value, str) else ""


def _quote(tool: str, name: str, parts: Sequence[str]) -> str:
    return f"{tool} {name}: " + "; ".join(parts)[:QUOTE_CHARS]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _answer(obj: Mapping[str, Any], tool: str) -> Mapping[str, Any]:
    answers = obj.get("answers")
    answer = answers.get(tool) if isinstance(answers, Mapping) else None
    return answer if isinstance(answer, Mapping) else {}


@dataclass
class _Read:
    findings: list[Finding] = field(default_factory=list)
    healthy: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def found(self, cause: str, obj: Mapping[str, Any], quote: str) -> None:
        self.findings.append(Finding(cause, str(obj.get("kind")), str(obj.get("name")), quote))


# --- VMware ------------------------------------------------------------------------------


def _vm(read: _Read, obj: Mapping[str, Any], hosts: Mapping[str, Mapping[str, Any]]) -> None:
    name = str(obj.get("name"))
    vm, metrics = _answer(obj, "get_vm"), _answer(obj, "get_vm_metrics")
    if not vm and not metrics:
        return
    heartbeat = _str(vm, "guest_heartbeat")
    tools = _str(vm, "tools_status")
    ping = vm.get("guest_ip_answers_ping")
    mem = _num(metrics, "guest_memory_used_pct")
    swap = _num(metrics, "swap_used_pct", 0.0) or 0.0
    swap_in = _num(metrics, "swap_in_kbps", 0.0) or 0.0
    cpu = _num(metrics, "cpu_usage_pct")
    ready = _num(metrics, "cpu_ready_pct", 0.0) or 0.0
    host = hosts.get(_str(vm, "host"), {})
    host_cpu = _num(host, "cpu_usage_pct", 0.0) or 0.0
    read.facts[name] = {
        "memory_gb": _num(vm, "memory_gb"),
        "cpus": _num(vm, "cpus"),
        "host_free_memory_gb": _num(host, "free_memory_gb"),
        "host_free_cpus": _num(host, "free_cpus"),
    }
    before = len(read.findings)
    if host and _str(host, "connection_state") not in ("", "connected"):
        read.found(
            "host_down",
            obj,
            _quote(
                "get_host",
                _str(vm, "host"),
                [f"host connection state {_str(host, 'connection_state')}"],
            ),
        )
        return
    frozen = heartbeat in ("red", "gray") and tools == "toolsNotRunning"
    memory_full = mem is not None and mem >= MEMORY_FULL_PCT
    swapping = swap >= SWAP_HEAVY_PCT or swap_in >= SWAP_IN_HEAVY_KBPS
    if memory_full and swapping:
        read.found(
            "memory_undersized",
            obj,
            _quote(
                "get_vm_metrics",
                name,
                [
                    f"guest memory {mem:g}% used",
                    f"swap {swap:g}% used",
                    f"swap-in {swap_in:g} KB/s",
                ],
            ),
        )
    elif frozen and ping is not True and not memory_full:
        parts = [
            f"guest heartbeat {heartbeat} for {_num(vm, 'heartbeat_age_seconds', 0):g} s",
            "VMware Tools not running",
        ]
        if ping is False:
            parts.append("guest IP does not answer ping")
        if _str(vm, "console"):
            parts.append(f"console: {_str(vm, 'console')}")
        if mem is not None:
            parts.append(f"guest memory {mem:g}% (normal)")
        read.found("hung", obj, _quote("get_vm", name, parts))
    if ready >= CPU_READY_HIGH_PCT or (
        host_cpu >= HOST_CPU_HIGH_PCT and cpu is not None and cpu >= 50 and ready >= 5
    ):
        parts = [f"CPU ready {ready:g}%"]
        if host:
            parts.append(
                f"host {_str(vm, 'host')} CPU {host_cpu:g}%, vCPU:pCPU "
                f"{_num(host, 'vcpu_to_pcpu_ratio', 0):g}"
            )
        read.found("cpu_contention", obj, _quote("get_vm_metrics", name, parts))
    elif cpu is not None and cpu >= CPU_BUSY_PCT and not frozen:
        read.found(
            "cpu_undersized",
            obj,
            _quote(
                "get_vm_metrics",
                name,
                [f"CPU {cpu:g}% of {_num(vm, 'cpus', 0):g} vCPUs", f"CPU ready {ready:g}% (low)"],
            ),
        )
    if len(read.findings) > before:
        return
    if heartbeat in ("", "green") and tools in ("", "toolsOk") and not memory_full:
        read.healthy.append(f"vm {name}")
    else:
        read.unexplained.append(
            _quote("get_vm", name, [f"heartbeat {heartbeat}", f"tools {tools}"])
        )


# --- Kubernetes ---------------------------------------------------------------------------


def _pod(read: _Read, obj: Mapping[str, Any]) -> None:
    name = str(obj.get("name"))
    pod = _answer(obj, "get_pod")
    if not pod:
        return
    last = pod.get("last_termination")
    last = last if isinstance(last, Mapping) else {}
    reason, code = _str(last, "reason"), _num(last, "exit_code")
    restarts = _num(pod, "restart_count", 0.0) or 0.0
    ready = pod.get("ready")
    limit, usage = _num(pod, "memory_limit_mib"), _num(pod, "memory_usage_mib")
    events = _list(pod.get("events"))
    liveness = [
        _str(e, "message")
        for e in events
        if isinstance(e, Mapping) and "liveness probe failed" in _str(e, "message").lower()
    ]
    crashing = restarts >= 3 and (ready is False or "CrashLoopBackOff" in _str(pod, "state"))
    base = [f"restarts {restarts:g}", f"state {_str(pod, 'state') or 'unknown'}"]
    if reason == "OOMKilled":
        used = f", memory {usage:g}/{limit:g} MiB" if usage is not None and limit else ""
        read.found(
            "oom_killed",
            obj,
            _quote("get_pod", name, [*base, f"last termination OOMKilled (exit {code:g}){used}"]),
        )
    elif crashing and code is not None and code not in (0, 137, 143):
        logs = _answer(obj, "get_pod_logs").get("lines")
        tail = [ln for ln in logs if isinstance(ln, str)][-2:] if isinstance(logs, list) else []
        read.facts.setdefault(name, {})["crash_exit_code"] = code
        read.found(
            "config_error" if code == 1 else "bad_command",
            obj,
            _quote("get_pod", name, [*base, f"last termination {reason} exit {code:g}", *tail]),
        )
    elif crashing and liveness and (usage is None or not limit or usage < 0.9 * limit):
        read.found(
            "hung",
            obj,
            _quote(
                "get_pod",
                name,
                [
                    *base,
                    f"last termination {reason} exit {code:g}" if code is not None else "restarted",
                    liveness[-1][:120],
                ],
            ),
        )
    elif not crashing and ready is not False:
        read.healthy.append(f"pod {name}")
    else:
        read.unexplained.append(_quote("get_pod", name, base))


def _deployment(read: _Read, obj: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> None:
    name = str(obj.get("name"))
    dep = _answer(obj, "get_deployment")
    if not dep:
        return
    http = _mapping(dep.get("http"))
    err_now = _num(http, "error_rate_pct_now", 0.0) or 0.0
    err_before = _num(http, "error_rate_pct_before_last_rollout", 0.0) or 0.0
    p95 = _num(http, "p95_latency_ms_now", 0.0) or 0.0
    p95_before = _num(http, "p95_latency_ms_before_last_rollout", 0.0) or 0.0
    rising = _num(http, "errors_rising_since_minutes")
    rollout = _num(dep, "last_rollout_minutes_ago")
    cpu = _num(dep, "cpu_usage_pct_of_requests", 0.0) or 0.0
    replicas, ready = _num(dep, "replicas"), _num(dep, "ready_replicas")
    read.facts[name] = {
        "replicas": replicas,
        "max_replicas": _num(dep, "max_replicas_quota"),
        "revision": _num(dep, "revision"),
    }
    pod_logs = " ".join(
        str(ln)
        for p in pods
        for ln in (_answer(p, "get_pod_logs").get("lines") or [])
        if isinstance(ln, str)
    ).lower()
    tied = (
        rollout is not None
        and rising is not None
        and abs(rising - rollout) <= ROLLOUT_MATCH_MINUTES
    )
    numbers = [
        f"error rate {err_now:g}% now, {err_before:g}% before the last rollout",
        f"p95 {p95:g} ms (was {p95_before:g})",
        f"last rollout {rollout:g} min ago" if rollout is not None else "no rollout time",
        f"CPU {cpu:g}% of requests",
    ]
    if err_now >= ERROR_RATE_HIGH_PCT and err_before < ERROR_RATE_NORMAL_PCT and tied:
        numbers.append(f"ready {ready:g}/{replicas:g}" if ready is not None and replicas else "")
        read.found("bad_release", obj, _quote("get_deployment", name, [n for n in numbers if n]))
    elif cpu >= CPU_BUSY_PCT and p95 >= LATENCY_HIGH_MS:
        read.found("load_spike", obj, _quote("get_deployment", name, numbers))
    elif err_now >= ERROR_RATE_HIGH_PCT and (
        "connection refused" in pod_logs or "connect: " in pod_logs
    ):
        read.found(
            "dependency_down",
            obj,
            _quote(
                "get_deployment", name, [*numbers, "pods log refused connections to a dependency"]
            ),
        )
    elif (
        err_now < ERROR_RATE_HIGH_PCT
        and p95 < LATENCY_HIGH_MS
        and (ready is None or replicas is None or ready >= replicas)
    ):
        read.healthy.append(f"deployment {name}")
    else:
        read.unexplained.append(_quote("get_deployment", name, numbers))


# --- Network ------------------------------------------------------------------------------


def _interface(read: _Read, obj: Mapping[str, Any]) -> None:
    name = str(obj.get("name"))
    iface = _answer(obj, "get_interface")
    if not iface:
        return
    admin, oper = _str(iface, "admin_status"), _str(iface, "oper_status")
    total = _num(iface, "input_errors_total", 0.0) or 0.0
    rate = _num(iface, "errors_per_minute_now", 0.0) or 0.0
    flaps = _num(iface, "flaps_last_hour", 0.0) or 0.0
    rx = _num(iface, "rx_power_dbm")
    violations = _num(iface, "errdisable_violations_last_15m", 0.0) or 0.0
    last_error = _num(iface, "last_error_minutes_ago")
    readings = [
        f"admin {admin}",
        f"oper {oper}",
        f"errors {total:g} total, {rate:g}/min now",
        f"flaps {flaps:g} in the last hour",
    ] + ([f"rx {rx:g} dBm"] if rx is not None else [])
    weak = rx is not None and rx <= RX_WEAK_DBM
    if oper == "err-disabled":
        cause = "err_disabled_recovered" if violations == 0 else "err_disabled"
        read.found(
            cause,
            obj,
            _quote(
                "get_interface",
                name,
                [
                    *readings[:2],
                    f"reason {_str(iface, 'err_disabled_reason') or 'unknown'}",
                    f"{violations:g} violations in the last 15 min",
                ],
            ),
        )
    elif admin == "down":
        read.found("admin_down", obj, _quote("get_interface", name, readings[:2]))
    elif rate >= ERRORS_RISING_PER_MIN or weak:
        read.found("physical_layer", obj, _quote("get_interface", name, readings))
    elif flaps >= FLAPS_MANY:
        read.found("negotiation_flap", obj, _quote("get_interface", name, readings))
    elif total >= ERRORS_STALE_TOTAL and rate == 0:
        since = f"last error {last_error:g} min ago" if last_error is not None else ""
        read.found("stale_counters", obj, _quote("get_interface", name, [*readings, since]))
    elif oper == "up":
        read.healthy.append(f"interface {name}")
    else:
        read.unexplained.append(_quote("get_interface", name, readings))


# --- Storage and OpenStack ----------------------------------------------------------------


def _volume(read: _Read, obj: Mapping[str, Any]) -> None:
    name = str(obj.get("name"))
    vol = _answer(obj, "get_volume")
    if not vol:
        return
    used_pct = _num(vol, "used_pct", 0.0) or 0.0
    used = _num(vol, "used_gb", 0.0) or 0.0
    size = _num(vol, "size_gb", 0.0) or 0.0
    snaps = _num(vol, "snapshot_total_gb", 0.0) or 0.0
    inodes = _num(vol, "inodes_used_pct", 0.0) or 0.0
    data = _num(vol, "file_data_gb", used) or used
    top = _list(vol.get("top_directories"))
    logs = sum(
        _num(d, "gb", 0.0) or 0.0
        for d in top
        if isinstance(d, Mapping) and "log" in _str(d, "path").lower()
    )
    read.facts[name] = {
        "size_gb": size,
        "used_gb": used,
        "growth_gb_per_day": _num(vol, "growth_gb_per_day", 0.0),
    }
    readings = [
        f"{used_pct:g}% of {size:g} GB used",
        f"snapshots {snaps:g} GB",
        f"growth {_num(vol, 'growth_gb_per_day', 0.0):g} GB/day",
        f"inodes {inodes:g}%",
    ]
    if inodes >= INODES_FULL_PCT:
        read.found("inode_exhaustion", obj, _quote("get_volume", name, readings))
    elif used_pct < VOLUME_FULL_PCT:
        read.healthy.append(f"volume {name}")
    elif used and snaps / used >= SNAPSHOT_SHARE:
        old = [
            s
            for s in vol.get("snapshots") or []
            if isinstance(s, Mapping) and (_num(s, "age_days", 0.0) or 0.0) > 30
        ]
        read.found(
            "snapshot_growth",
            obj,
            _quote("get_volume", name, [*readings, f"{len(old)} snapshots older than 30 days"]),
        )
    elif data and logs / data >= LOG_SHARE:
        read.found(
            "log_growth",
            obj,
            _quote(
                "get_volume", name, [*readings, f"log directories hold {logs:g} GB of {data:g} GB"]
            ),
        )
    else:
        read.found("data_growth", obj, _quote("get_volume", name, readings))


def _instance(read: _Read, obj: Mapping[str, Any]) -> None:
    name = str(obj.get("name"))
    inst = _answer(obj, "get_instance")
    if not inst:
        return
    status = _str(inst, "status")
    checks = _mapping(inst.get("status_checks"))
    system, guest = _str(checks, "system"), _str(checks, "instance")
    cpu, mem = _num(inst, "cpu_util_pct", 0.0) or 0.0, _num(inst, "mem_util_pct", 0.0) or 0.0
    read.facts[name] = {"flavor": _str(inst, "flavor")}
    readings = [
        f"status {status}",
        f"checks system {system}, instance {guest}",
        f"CPU {cpu:g}%",
        f"memory {mem:g}%",
    ]
    fault = inst.get("fault")
    if status == "ERROR" or (isinstance(fault, Mapping) and fault):
        message = _str(fault, "message") if isinstance(fault, Mapping) else ""
        read.found("instance_error", obj, _quote("get_instance", name, [*readings, message]))
    elif guest.startswith("impaired") and system == "ok":
        tail = inst.get("console_tail")
        last = str(tail[-2])[:120] if isinstance(tail, list) and len(tail) > 1 else ""
        read.found("hung", obj, _quote("get_instance", name, [*readings, last]))
    elif cpu >= CPU_BUSY_PCT and mem >= MEMORY_FULL_PCT:
        read.found(
            "cpu_undersized",
            obj,
            _quote("get_instance", name, [*readings, f"flavor {_str(inst, 'flavor')}"]),
        )
    elif status == "ACTIVE" and system in ("", "ok") and guest in ("", "ok"):
        read.healthy.append(f"instance {name}")
    else:
        read.unexplained.append(_quote("get_instance", name, readings))


def _owner(obj: Mapping[str, Any]) -> str:
    """The deployment a pod belongs to, as the platform said (or as it was followed)."""
    if obj.get("kind") != "pod":
        return ""
    owner = _answer(obj, "get_pod").get("owner")
    return owner if isinstance(owner, str) else str(obj.get("of") or "")


def read_observations(objects: Sequence[Mapping[str, Any]]) -> Observed:
    """Findings, healthy objects and unexplained readings from an investigation's objects."""
    read = _Read()
    valid = [o for o in objects if isinstance(o, Mapping)]
    hosts = {str(o.get("name")): _answer(o, "get_host") for o in valid if o.get("kind") == "host"}
    readers: dict[str, Callable[[_Read, Mapping[str, Any]], None]] = {
        "pod": _pod,
        "interface": _interface,
        "volume": _volume,
        "instance": _instance,
    }
    for obj in valid:
        kind = obj.get("kind")
        if kind == "vm":
            _vm(read, obj, hosts)
        elif kind == "deployment":
            _deployment(read, obj, [p for p in valid if _owner(p) == obj.get("name")])
        elif isinstance(kind, str) and kind in readers:
            readers[kind](read, obj)
    # A release that broke the deployment explains its pods' crashes: one cause, not two.
    broken = {f.name for f in read.findings if f.cause == "bad_release"}
    owners = {str(o.get("name")): _owner(o) for o in valid if o.get("kind") == "pod"}
    read.findings = [
        f for f in read.findings if not (f.kind == "pod" and owners.get(f.name) in broken)
    ]
    return Observed(
        findings=tuple(read.findings),
        healthy=tuple(read.healthy),
        unexplained=tuple(read.unexplained),
        facts=read.facts,
    )
