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

The rules read observations by name (``vm.guest_heartbeat``, ``pod.restarts_rate``,
``interface.in_errors_rate``...), never a platform's field names: each connector's profile
(``connectors.rules.profiles``) maps its tools' answers (the lab's fields, or PromQL over the
standard exporters' series) to them, and the investigation records them on each object
(``observations``). A record stored before profiles existed is read through the lab's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from remediation.connectors.rules.lab_profile import LAB_PROFILE
from remediation.connectors.rules.profiles import observations_of

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
# node-mixin alerts at 500/s sustained; beside memory nearly exhausted, 100/s over 5 min is
# heavy paging (a healthy guest faults ~1/s), and a young series's rate reads low.
MAJOR_FAULTS_HIGH_PER_S = 100.0
RESTARTS_HIGH_PER_HOUR = 30.0
# The kubelet kills a container after 3 failed liveness probes (10 s apart by default): a
# wedged one fails about 6 a minute; one that exits on its own fails none.
LIVENESS_FAILING_PER_MIN = 1.0
# cAdvisor: containers at their CPU limit and throttled in a quarter of CFS periods are
# CPU-bound (CPUThrottlingHigh, kubernetes-mixin, alerts at 25%).
CPU_THROTTLED_HIGH_PCT = 25.0
# node_exporter's load per vCPU of the flavor: two runnable tasks per vCPU is saturated.
LOAD_PER_CPU_HIGH = 2.0


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


def observations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """What was observed of one object, by observation name: as the investigation recorded
    it, or (a record from before profiles) read from its answers with the lab's profile."""
    seen = obj.get("observations")
    if isinstance(seen, Mapping):
        return seen
    answers = obj.get("answers")
    if not isinstance(answers, Mapping):
        return {}
    kind = str(obj.get("kind"))
    return observations_of(LAB_PROFILE["observations"], answers, kind).values


@dataclass
class _Read:
    findings: list[Finding] = field(default_factory=list)
    healthy: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def found(self, cause: str, obj: Mapping[str, Any], quote: str) -> None:
        self.findings.append(Finding(cause, str(obj.get("kind")), str(obj.get("name")), quote))


def _guest_alarms(o: Mapping[str, Any], kind: str) -> list[str]:
    """What node_exporter shows wrong inside a guest that no cause of the VM or instance
    explains: a filesystem nearly full or out of inodes (which volume, and what holds it,
    the series do not say), network errors counting now. A person looks."""
    alarms = []
    used = _num(o, f"{kind}.filesystem_used_pct")
    if used is not None and used >= VOLUME_FULL_PCT:
        alarms.append(f"fullest filesystem {used:.3g}% used (what holds it is not in the series)")
    inodes = _num(o, f"{kind}.filesystem_inodes_used_pct")
    if inodes is not None and inodes >= INODES_FULL_PCT:
        alarms.append(f"a filesystem's inodes {inodes:.3g}% used")
    errors = _num(o, f"{kind}.network_errors_rate")
    if errors is not None and errors >= ERRORS_RISING_PER_MIN:
        alarms.append(f"network errors {errors:.3g}/min now")
    return alarms


def _src(obj: Mapping[str, Any], tool: str) -> str:
    """What a quote says was looked at: the platform's tool when it answered, else the
    evidence source's series."""
    answers = obj.get("answers")
    if isinstance(answers, Mapping) and tool in answers:
        return tool
    return "metrics"


# --- VMware ------------------------------------------------------------------------------


def _frozen_parts(o: Mapping[str, Any], mem: float | None) -> list[str]:
    """What shows a guest frozen, as observed."""
    parts = []
    heartbeat = _str(o, "vm.guest_heartbeat")
    if heartbeat:
        parts.append(f"guest heartbeat {heartbeat} for {_num(o, 'vm.heartbeat_age', 0) or 0:g} s")
    if o.get("vm.up") is False:
        parts.append("node_exporter does not answer its scrape (up 0)")
    parts.append("VMware Tools not running")
    if o.get("vm.answers_ping") is False:
        parts.append("guest IP does not answer ping")
    if _str(o, "vm.console"):
        parts.append(f"console: {_str(o, 'vm.console')}")
    if mem is not None:
        parts.append(f"guest memory {mem:g}% (normal)")
    return parts


def _vm(read: _Read, obj: Mapping[str, Any], hosts: Mapping[str, Mapping[str, Any]]) -> None:
    name = str(obj.get("name"))
    o = observations(obj)
    if not o:
        return
    heartbeat = _str(o, "vm.guest_heartbeat")
    tools = _str(o, "vm.tools_status")
    ping = o.get("vm.answers_ping")
    up = o.get("vm.up")
    mem = _num(o, "vm.memory_used_pct")
    swap = _num(o, "vm.swap_used_pct", 0.0) or 0.0
    swap_in = _num(o, "vm.swap_in_rate", 0.0) or 0.0
    faults = _num(o, "vm.major_faults_rate")
    cpu = _num(o, "vm.cpu_usage_pct")
    ready = _num(o, "vm.cpu_ready_pct", 0.0) or 0.0
    host = hosts.get(_str(o, "vm.host"), {})
    host_cpu = _num(host, "host.cpu_usage_pct", 0.0) or 0.0
    read.facts[name] = {
        "memory_gb": _num(o, "vm.memory"),
        "cpus": _num(o, "vm.cpus"),
        "host_free_memory_gb": _num(host, "host.free_memory"),
        "host_free_cpus": _num(host, "host.free_cpus"),
    }
    before = len(read.findings)
    if host and _str(host, "host.connection_state") not in ("", "connected"):
        state = _str(host, "host.connection_state")
        read.found(
            "host_down",
            obj,
            _quote("get_host", _str(o, "vm.host"), [f"host connection state {state}"]),
        )
        return
    # Frozen: the platform's heartbeat and Tools say so, or (metrics) its node_exporter no
    # longer answers its scrape while vCenter says it is on and Tools are not running.
    frozen = (heartbeat in ("red", "gray") and tools == "toolsNotRunning") or (
        up is False and tools == "toolsNotRunning" and o.get("vm.powered_on") is not False
    )
    memory_full = mem is not None and mem >= MEMORY_FULL_PCT
    swapping = (
        swap >= SWAP_HEAVY_PCT
        or swap_in >= SWAP_IN_HEAVY_KBPS
        or (faults is not None and faults >= MAJOR_FAULTS_HIGH_PER_S)
    )
    if memory_full and swapping:
        parts = [f"guest memory {mem:g}% used", f"swap {swap:g}% used"]
        if "vm.swap_in_rate" in o:
            parts.append(f"swap-in {swap_in:g} KB/s")
        if faults is not None:
            parts.append(f"{faults:.0f} major page faults/s")
        read.found("memory_undersized", obj, _quote(_src(obj, "get_vm_metrics"), name, parts))
    elif frozen and ping is not True and not memory_full:
        parts = _frozen_parts(o, mem)
        read.found("hung", obj, _quote(_src(obj, "get_vm"), name, parts))
    if ready >= CPU_READY_HIGH_PCT or (
        host_cpu >= HOST_CPU_HIGH_PCT and cpu is not None and cpu >= 50 and ready >= 5
    ):
        parts = [f"CPU ready {ready:g}%"]
        if host:
            parts.append(
                f"host {_str(o, 'vm.host')} CPU {host_cpu:g}%, vCPU:pCPU "
                f"{_num(host, 'host.vcpu_per_pcpu', 0):g}"
            )
        read.found("cpu_contention", obj, _quote("get_vm_metrics", name, parts))
    elif cpu is not None and cpu >= CPU_BUSY_PCT and not frozen:
        read.found(
            "cpu_undersized",
            obj,
            _quote(
                "get_vm_metrics",
                name,
                [
                    f"CPU {cpu:g}% of {_num(o, 'vm.cpus', 0):g} vCPUs",
                    f"CPU ready {ready:g}% (low)",
                ],
            ),
        )
    if len(read.findings) > before:
        return
    alarms = _guest_alarms(o, "vm")
    if (
        heartbeat in ("", "green")
        and tools in ("", "toolsOk")
        and up is not False
        and not memory_full
        and not alarms
    ):
        read.healthy.append(f"vm {name}")
    else:
        parts = [f"heartbeat {heartbeat}" if heartbeat else f"up {up}", f"tools {tools}"]
        if mem is not None:
            parts.append(f"memory {mem:g}%")
        read.unexplained.append(_quote(_src(obj, "get_vm"), name, [*parts, *alarms]))


# --- Kubernetes ---------------------------------------------------------------------------


def _pod(read: _Read, obj: Mapping[str, Any]) -> None:
    name = str(obj.get("name"))
    o = observations(obj)
    if not o:
        return
    src = _src(obj, "get_pod")
    reason, code = _str(o, "pod.last_terminated_reason"), _num(o, "pod.last_exit_code")
    restarts = _num(o, "pod.restarts", 0.0) or 0.0
    rate = _num(o, "pod.restarts_rate")
    waiting = _str(o, "pod.waiting_reason")
    state = _str(o, "pod.state") or waiting
    ready = o.get("pod.ready")
    limit, usage = _num(o, "pod.memory_limit"), _num(o, "pod.memory_usage")
    events = _list(o.get("pod.events"))
    liveness = [
        _str(e, "message")
        for e in events
        if isinstance(e, Mapping) and "liveness probe failed" in _str(e, "message").lower()
    ]
    failing = _num(o, "pod.liveness_failures_rate")
    if not liveness and failing is not None and failing >= LIVENESS_FAILING_PER_MIN:
        # Metrics: the kubelet counts the failed probes; it killed the container for them.
        liveness = [f"liveness probe failing {failing:.3g}/min (kubelet prober_probe_total)"]
    crashing = (
        restarts >= 3 and (ready is False or "CrashLoopBackOff" in _str(o, "pod.state"))
    ) or (rate is not None and rate >= RESTARTS_HIGH_PER_HOUR and waiting == "CrashLoopBackOff")
    base = [
        f"restarts {rate:.0f}/h" if rate is not None else f"restarts {restarts:g}",
        f"state {state or 'unknown'}",
    ]
    exit_code = f" (exit {code:g})" if code is not None else ""
    if reason == "OOMKilled":
        used = f", memory {usage:g}/{limit:g} MiB" if usage is not None and limit else ""
        if usage is None and limit:
            used = f", memory limit {limit:g} MiB"
        read.found(
            "oom_killed",
            obj,
            _quote(src, name, [*base, f"last termination OOMKilled{exit_code}{used}"]),
        )
    elif crashing and code is not None and code not in (0, 137, 143):
        logs = o.get("pod.log_lines")
        tail = [ln for ln in logs if isinstance(ln, str)][-2:] if isinstance(logs, list) else []
        read.facts.setdefault(name, {})["crash_exit_code"] = code
        read.found(
            "config_error" if code == 1 else "bad_command",
            obj,
            _quote(src, name, [*base, f"last termination {reason} exit {code:g}", *tail]),
        )
    elif crashing and liveness and (usage is None or not limit or usage < 0.9 * limit):
        read.found(
            "hung",
            obj,
            _quote(
                src,
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
        more = [f"last termination {reason}{exit_code}"] if reason else []
        read.unexplained.append(_quote(src, name, [*base, *more]))


def _deployment(read: _Read, obj: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> None:
    name = str(obj.get("name"))
    o = observations(obj)
    if not o:
        return
    src = _src(obj, "get_deployment")
    err_now = _num(o, "deployment.error_rate_pct", 0.0) or 0.0
    err_before = _num(o, "deployment.error_rate_before_pct", 0.0) or 0.0
    p95 = _num(o, "deployment.p95_latency", 0.0) or 0.0
    p95_before = _num(o, "deployment.p95_latency_before", 0.0) or 0.0
    rising = _num(o, "deployment.errors_rising_since")
    rollout = _num(o, "deployment.last_rollout_ago")
    cpu = _num(o, "deployment.cpu_pct_of_requests", 0.0) or 0.0
    replicas, ready = _num(o, "deployment.replicas"), _num(o, "deployment.available_replicas")
    read.facts[name] = {
        "replicas": replicas,
        "max_replicas": _num(o, "deployment.max_replicas"),
        "revision": _num(o, "deployment.revision"),
    }
    pod_seen = [observations(p) for p in pods]
    pod_logs = " ".join(
        str(ln) for p in pod_seen for ln in _list(p.get("pod.log_lines")) if isinstance(ln, str)
    ).lower()
    pods_error = [_str(p, "pod.last_terminated_reason") for p in pod_seen]
    if "deployment.error_rate_pct" not in o and "deployment.probe_success" in o:
        # Metrics: the service's probe, the replicas and the spec's generation.
        _deployment_metrics(read, obj, name, o, pods_error)
        return
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
        read.found("bad_release", obj, _quote(src, name, [n for n in numbers if n]))
    elif cpu >= CPU_BUSY_PCT and p95 >= LATENCY_HIGH_MS:
        read.found("load_spike", obj, _quote(src, name, numbers))
    elif err_now >= ERROR_RATE_HIGH_PCT and (
        "connection refused" in pod_logs or "connect: " in pod_logs
    ):
        read.found(
            "dependency_down",
            obj,
            _quote(src, name, [*numbers, "pods log refused connections to a dependency"]),
        )
    elif (
        err_now < ERROR_RATE_HIGH_PCT
        and p95 < LATENCY_HIGH_MS
        and (ready is None or replicas is None or ready >= replicas)
    ):
        read.healthy.append(f"deployment {name}")
    else:
        read.unexplained.append(_quote(src, name, numbers))


def _deployment_metrics(
    read: _Read, obj: Mapping[str, Any], name: str, o: Mapping[str, Any], pods_error: list[str]
) -> None:
    """A deployment seen through its metrics only (kube-state-metrics, a blackbox probe): no
    error rate over time, no rollout clock. A release that broke it shows as no replica
    available, the service answering 5xx, and its pods ending in Error (not OOMKilled);
    a spec change in the last hour (generation) is quoted when the series show one."""
    replicas, ready = _num(o, "deployment.replicas"), _num(o, "deployment.available_replicas")
    probe, status = o.get("deployment.probe_success"), _num(o, "deployment.probe_status_code")
    duration = _num(o, "deployment.probe_duration")
    changes = _num(o, "deployment.generation_changes")
    cpu = _num(o, "deployment.cpu_pct_of_limits")
    throttled = _num(o, "deployment.cpu_throttled_pct")
    numbers = [
        f"available {ready:g}/{replicas:g}" if ready is not None and replicas else "",
        f"probe {'ok' if probe else 'failing'}"
        + (f" (HTTP {status:g})" if status else "")
        + (f" in {duration:.1f} s" if duration is not None else ""),
        f"{changes:g} spec changes in the last hour" if changes is not None else "",
        f"containers' CPU {cpu:.3g}% of their limits" if cpu is not None else "",
        f"throttled in {throttled:.3g}% of CFS periods" if throttled is not None else "",
    ]
    numbers = [n for n in numbers if n]
    slow = duration is not None and duration * 1000 >= LATENCY_HIGH_MS
    none_available = ready is not None and replicas is not None and replicas > 0 and ready == 0
    server_error = status is not None and status >= 500
    if probe is False and (none_available or (changes or 0) > 0) and server_error:
        if "OOMKilled" in pods_error:
            read.unexplained.append(_quote("metrics", name, [*numbers, "pods OOMKilled"]))
            return
        if "Error" in pods_error:
            numbers.append("its pods end in Error")
        read.found("bad_release", obj, _quote("metrics", name, numbers))
    elif (
        slow
        and not server_error
        and ready is not None
        and replicas is not None
        and replicas > 0
        and ready >= replicas
        and cpu is not None
        and cpu >= CPU_BUSY_PCT
        and throttled is not None
        and throttled >= CPU_THROTTLED_HIGH_PCT
        and changes is not None
        and changes == 0
    ):
        # Every replica up, answering slowly, its containers at their CPU limit and
        # throttled, and no spec change in the last hour: more load than the replicas can
        # serve (a slow dependency leaves them idle, waiting; a release that made the code
        # CPU-hungry looks the same but for its spec change, and goes to a person).
        read.found("load_spike", obj, _quote("metrics", name, numbers))
    elif (
        probe is not False
        and (ready is None or replicas is None or ready >= replicas)
        and (duration is None or duration * 1000 < LATENCY_HIGH_MS)
    ):
        read.healthy.append(f"deployment {name}")
    else:
        read.unexplained.append(_quote("metrics", name, numbers))


# --- Network ------------------------------------------------------------------------------


def _interface(read: _Read, obj: Mapping[str, Any]) -> None:
    name = str(obj.get("name"))
    o = observations(obj)
    if not o:
        return
    src = _src(obj, "get_interface")
    admin, oper = _str(o, "interface.admin_status"), _str(o, "interface.oper_status")
    total = _num(o, "interface.in_errors_total")
    rate = (_num(o, "interface.in_errors_rate", 0.0) or 0.0) + (
        _num(o, "interface.out_errors_rate", 0.0) or 0.0
    )
    flaps = _num(o, "interface.flaps", 0.0) or 0.0
    rx = _num(o, "interface.rx_power")
    violations = _num(o, "interface.errdisable_violations")
    last_error = _num(o, "interface.last_error_ago")
    readings = [
        f"admin {admin}",
        f"oper {oper}",
        f"errors {total:g} total, {rate:g}/min now"
        if total is not None
        else f"errors {rate:g}/min now",
        f"flaps {flaps:g} in the last hour",
    ] + ([f"rx {rx:g} dBm"] if rx is not None else [])
    weak = rx is not None and rx <= RX_WEAK_DBM
    if oper == "err-disabled":
        cause = "err_disabled_recovered" if not violations else "err_disabled"
        reason = _str(o, "interface.errdisable_reason") or "unknown"
        read.found(
            cause,
            obj,
            _quote(
                src,
                name,
                [
                    *readings[:2],
                    f"reason {reason}",
                    f"{violations or 0:g} violations in the last 15 min",
                ],
            ),
        )
    elif admin == "down":
        read.found("admin_down", obj, _quote(src, name, readings[:2]))
    elif rate >= ERRORS_RISING_PER_MIN or weak:
        read.found("physical_layer", obj, _quote(src, name, readings))
    elif flaps >= FLAPS_MANY:
        read.found("negotiation_flap", obj, _quote(src, name, readings))
    elif total is not None and total >= ERRORS_STALE_TOTAL and rate == 0:
        since = f"last error {last_error:g} min ago" if last_error is not None else ""
        read.found("stale_counters", obj, _quote(src, name, [*readings, since]))
    elif oper == "up":
        read.healthy.append(f"interface {name}")
    else:
        read.unexplained.append(_quote(src, name, readings))


# --- Storage and OpenStack ----------------------------------------------------------------


def _volume(read: _Read, obj: Mapping[str, Any]) -> None:
    name = str(obj.get("name"))
    o = observations(obj)
    if not o:
        return
    src = _src(obj, "get_volume")
    size = _num(o, "volume.size", 0.0) or 0.0
    used_pct = _num(o, "volume.used_pct", 0.0) or 0.0
    used = _num(o, "volume.used")
    used = used if used is not None else size * used_pct / 100
    snaps = _num(o, "volume.snapshots_size")
    inodes = _num(o, "volume.inodes_used_pct", 0.0) or 0.0
    data = _num(o, "volume.file_data", used) or used
    growth = _num(o, "volume.growth", 0.0) or 0.0
    top = _list(o.get("volume.top_directories"))
    logs = sum(
        _num(d, "gb", 0.0) or 0.0
        for d in top
        if isinstance(d, Mapping) and "log" in _str(d, "path").lower()
    )
    read.facts[name] = {"size_gb": size, "used_gb": used, "growth_gb_per_day": growth}
    readings = [
        f"{used_pct:.4g}% of {size:.4g} GB used",
        *([f"snapshots {snaps:g} GB"] if snaps is not None else []),
        f"growth {growth:.3g} GB/day",
        f"inodes {inodes:.3g}%",
    ]
    if inodes >= INODES_FULL_PCT:
        read.found("inode_exhaustion", obj, _quote(src, name, readings))
    elif used_pct < VOLUME_FULL_PCT:
        read.healthy.append(f"volume {name}")
    elif used and snaps is not None and snaps / used >= SNAPSHOT_SHARE:
        old = [
            s
            for s in _list(o.get("volume.snapshots"))
            if isinstance(s, Mapping) and (_num(s, "age_days", 0.0) or 0.0) > 30
        ]
        read.found(
            "snapshot_growth",
            obj,
            _quote(src, name, [*readings, f"{len(old)} snapshots older than 30 days"]),
        )
    elif data and logs / data >= LOG_SHARE:
        read.found(
            "log_growth",
            obj,
            _quote(src, name, [*readings, f"log directories hold {logs:g} GB of {data:g} GB"]),
        )
    elif snaps is None and not top:
        # Metrics show the space, not what holds it (snapshots, logs, data): a person looks.
        read.unexplained.append(
            _quote(src, name, [*readings, "what holds the space is not visible in metrics"])
        )
    else:
        read.found("data_growth", obj, _quote(src, name, readings))


def _instance(read: _Read, obj: Mapping[str, Any]) -> None:
    name = str(obj.get("name"))
    o = observations(obj)
    if not o:
        return
    src = _src(obj, "get_instance")
    status = _str(o, "instance.status")
    system, guest = _str(o, "instance.system_check"), _str(o, "instance.guest_check")
    cpu = _num(o, "instance.cpu_pct", 0.0) or 0.0
    mem = _num(o, "instance.memory_used_pct", 0.0) or 0.0
    read.facts[name] = {"flavor": _str(o, "instance.flavor")}
    load, vcpus = _num(o, "instance.load1"), _num(o, "instance.vcpus")
    metrics = "instance.system_check" not in o and "instance.guest_check" not in o
    if metrics and load is not None and vcpus:
        # Metrics: no CPU figure from the cloud; the guest's load per vCPU of its flavor.
        cpu = 100.0 if load / vcpus >= LOAD_PER_CPU_HIGH else 0.0
    readings = [
        f"status {status or 'unknown'}",
        f"checks system {system}, instance {guest}",
        f"CPU {cpu:g}%",
        f"memory {mem:g}%",
    ]
    if metrics:
        readings = [
            f"nova status {status or 'unknown'}",
            f"node_exporter {'does not answer (up 0)' if o.get('instance.up') is False else 'up'}",
            *([f"load {load:g} on {vcpus:g} vCPUs"] if load is not None and vcpus else []),
            f"memory {mem:g}%",
        ]
    fault = o.get("instance.fault")
    if status == "ERROR" or (isinstance(fault, Mapping) and fault):
        message = _str(fault, "message") if isinstance(fault, Mapping) else ""
        read.found("instance_error", obj, _quote(src, name, [*readings, message]))
    elif metrics and status == "ACTIVE" and o.get("instance.up") is False:
        # Metrics: nova says the server is ACTIVE (its hypervisor runs it) while its guest
        # answers no scrape: the guest is hung, as the cloud's guest check would say.
        read.found("hung", obj, _quote(src, name, readings))
    elif guest.startswith("impaired") and system == "ok":
        tail = o.get("instance.console_tail")
        last = str(tail[-2])[:120] if isinstance(tail, list) and len(tail) > 1 else ""
        read.found("hung", obj, _quote(src, name, [*readings, last]))
    elif cpu >= CPU_BUSY_PCT and mem >= MEMORY_FULL_PCT:
        read.found(
            "cpu_undersized",
            obj,
            _quote(src, name, [*readings, f"flavor {_str(o, 'instance.flavor') or 'unknown'}"]),
        )
    elif (
        not (alarms := _guest_alarms(o, "instance"))
        and (
            (status == "ACTIVE" and system in ("", "ok") and guest in ("", "ok"))
            or (not status and o.get("instance.up") is not False and mem < MEMORY_FULL_PCT)
        )
        and (not metrics or (o.get("instance.up") is not False and mem < MEMORY_FULL_PCT))
    ):
        read.healthy.append(f"instance {name}")
    else:
        if o.get("instance.up") is False:
            readings.append("node_exporter does not answer its scrape (up 0)")
        read.unexplained.append(_quote(src, name, [*readings, *alarms]))


def _owner(obj: Mapping[str, Any]) -> str:
    """The deployment a pod belongs to, as the platform said (or as it was followed)."""
    if obj.get("kind") != "pod":
        return ""
    owner = observations(obj).get("pod.owner")
    return owner if isinstance(owner, str) else str(obj.get("of") or "")


def read_observations(objects: Sequence[Mapping[str, Any]]) -> Observed:
    """Findings, healthy objects and unexplained readings from an investigation's objects."""
    read = _Read()
    valid = [o for o in objects if isinstance(o, Mapping)]
    hosts = {str(o.get("name")): observations(o) for o in valid if o.get("kind") == "host"}
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
