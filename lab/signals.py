"""What the lab's objects show an investigator: signals, never the staged condition's name.

A real platform does not say "this VM is hung"; it shows a guest heartbeat that went red,
VMware Tools not running, a console that stopped updating. Each function here turns an
object's state (and the condition staged on it) into the readings its platform would give,
with noise: values vary per object (seeded by the object's name, so a run is repeatable),
healthy objects carry harmless events, and look-alike conditions share symptoms (a hung VM
and a swapping one both stop answering; an OOM kill and a wedged process both exit 137).

Pure functions over the world dict, like ``engine``. Nothing returned here contains a
condition name or an operation name: ``tests/lab/test_signals.py`` stages every condition
and reads every tool to check it.
"""

from __future__ import annotations

import random
import time
import zlib
from typing import Any

from lab.engine import LabError, get_object
from lab.inventory import FLAVORS


def _rng(name: str, salt: str = "") -> random.Random:
    """The same readings for the same object and staging, different across objects."""
    return random.Random(zlib.crc32(f"{name}|{salt}".encode()))  # noqa: S311 (noise, not secrets)


def _since(holder: dict[str, Any], default_minutes: float) -> float:
    """Minutes since the holder's condition was staged (a default when it is healthy)."""
    at = holder.get("condition_at")
    if not at:
        return default_minutes
    return max(1.0, (time.time() - float(at)) / 60.0 + default_minutes)


def _r(value: float, ndigits: int = 1) -> float:
    return round(value, ndigits)


# --- VMware ------------------------------------------------------------------------------


def vm_summary(world: dict[str, Any], name: str) -> dict[str, Any]:
    vm = _kind(world, name, "vm")
    cond = vm.get("condition")
    rng = _rng(name, str(cond))
    heartbeat, age, console, reachable = "green", rng.randint(3, 25), "login prompt", True
    tools = "toolsOk" if vm["tools"] == "running" else "toolsNotRunning"
    if cond == "vm_hung":
        heartbeat, age = "red", int(_since(vm, rng.randint(6, 14)) * 60)
        tools, reachable = "toolsNotRunning", False
        console = f"no screen update for {age} s; keyboard input not echoed"
    elif cond == "memory_pressure":
        heartbeat, age = "yellow", rng.randint(45, 140)
        console = "login prompt; input echoed after several seconds"
        reachable = rng.random() < 0.5
    elif cond == "cpu_contention":
        heartbeat, age = rng.choice(["green", "yellow"]), rng.randint(10, 60)
    return {
        "vm": name,
        "power_state": "poweredOn" if vm["power"] == "on" else "poweredOff",
        "guest_heartbeat": heartbeat,
        "heartbeat_age_seconds": age,
        "tools_status": tools,
        "guest_ip_answers_ping": reachable,
        "console": console,
        "host": vm["host"],
        "memory_gb": vm["memory_gb"],
        "cpus": vm["cpus"],
        "uptime_hours": rng.randint(30, 2400) if not vm["restarts"] else rng.randint(0, 3),
        "snapshots": len(vm["snapshots"]),
        "in_maintenance": bool(vm.get("maintenance")),
        "volumes": sorted(
            n
            for n, o in world["objects"].items()
            if o["kind"] == "volume" and o.get("attached_to") == name
        ),
    }


def vm_metrics(world: dict[str, Any], name: str) -> dict[str, Any]:
    """Fifteen-minute averages, as vCenter's performance charts give them."""
    vm = _kind(world, name, "vm")
    cond = vm.get("condition")
    rng = _rng(name, f"metrics|{cond}")
    cpu, ready = rng.uniform(6, 48), rng.uniform(0.3, 2.6)
    mem, swap, swap_in, balloon = rng.uniform(32, 72), rng.uniform(0, 3), rng.uniform(0, 6), 0
    latency = rng.uniform(1, 6)
    if cond == "vm_hung":
        # A frozen guest either idles or spins one vCPU; its memory reading is stale.
        cpu = rng.choice([rng.uniform(0, 2), 100.0 / vm["cpus"] + rng.uniform(-1, 1)])
    elif cond == "memory_pressure":
        cpu = rng.uniform(35, 80)
        mem, swap = rng.uniform(95.5, 99.6), rng.uniform(68, 96)
        swap_in, balloon = rng.uniform(3500, 22000), rng.randint(400, 2400)
        latency = rng.uniform(25, 90)
    elif cond == "cpu_saturated":
        cpu, ready = rng.uniform(96, 100), rng.uniform(0.5, 3.5)
    elif cond == "cpu_contention":
        cpu, ready = rng.uniform(55, 85), rng.uniform(18, 36)
    return {
        "vm": name,
        "window_minutes": 15,
        "cpu_usage_pct": _r(cpu),
        "cpu_ready_pct": _r(ready),
        "guest_memory_used_pct": _r(mem),
        "swap_used_pct": _r(swap),
        "swap_in_kbps": _r(swap_in, 0),
        "balloon_mb": balloon,
        "disk_latency_ms": _r(latency),
    }


_VM_NOISE = (
    "Scheduled snapshot consolidation completed",
    "vMotion completed from esx-02 (maintenance rebalance)",
    "Guest OS reboot by user (patching window)",
    "VMware Tools upgraded",
    "Backup job 'nightly-image' completed",
)


def vm_events(world: dict[str, Any], name: str) -> dict[str, Any]:
    vm = _kind(world, name, "vm")
    cond = vm.get("condition")
    rng = _rng(name, f"events|{cond}")
    events = [
        {"minutes_ago": rng.randint(600, 20000), "message": rng.choice(_VM_NOISE)}
        for _ in range(rng.randint(0, 2))
    ]
    since = int(_since(vm, rng.randint(6, 14)))
    if cond == "vm_hung":
        events.append(
            {"minutes_ago": since, "message": "Guest heartbeat changed from green to red"}
        )
        events.append(
            {"minutes_ago": since, "message": "VMware Tools status changed to not running"}
        )
    elif cond == "memory_pressure":
        events.append({"minutes_ago": since, "message": "Alarm 'VM memory usage' changed to red"})
        events.append(
            {"minutes_ago": max(1, since - 2), "message": "Guest heartbeat changed to yellow"}
        )
    elif cond == "cpu_saturated":
        events.append({"minutes_ago": since, "message": "Alarm 'VM CPU usage' changed to red"})
    elif cond == "cpu_contention":
        events.append({"minutes_ago": since, "message": "Alarm 'VM CPU ready' changed to yellow"})
    if vm["restarts"]:
        events.append({"minutes_ago": 1, "message": "Guest OS restarted"})
    return {"vm": name, "events": sorted(events, key=lambda e: e["minutes_ago"])}


def host_summary(world: dict[str, Any], name: str) -> dict[str, Any]:
    host = world["hosts"].get(name)
    if host is None:
        raise LabError(f"unknown host {name!r}")
    vms = sorted(n for n, o in world["objects"].items() if o["kind"] == "vm" and o["host"] == name)
    contended = any(world["objects"][v].get("condition") == "cpu_contention" for v in vms)
    rng = _rng(name, f"host|{contended}")
    return {
        "host": name,
        "connection_state": "connected" if host["reachable"] else "notResponding",
        "cpu_usage_pct": _r(rng.uniform(95, 99.5) if contended else rng.uniform(28, 62)),
        "memory_usage_pct": _r(rng.uniform(48, 74)),
        "vcpu_to_pcpu_ratio": _r(rng.uniform(5.5, 7.5) if contended else rng.uniform(1.4, 2.6)),
        "free_memory_gb": host["free_memory_gb"],
        "free_cpus": host["free_cpus"],
        "vms": vms,
    }


# --- Kubernetes ---------------------------------------------------------------------------


def _pod_view(world: dict[str, Any], name: str, pod: dict[str, Any]) -> dict[str, Any]:
    cond = pod.get("condition")
    rng = _rng(name, f"pod|{cond}|{pod['generation']}")
    limit = 512
    usage = rng.randint(150, 330)
    restarts = rng.choice([0, 0, 0, 1])
    last: dict[str, Any] | None = None
    if restarts:
        last = {"reason": "Completed", "exit_code": 0, "minutes_ago": rng.randint(900, 9000)}
    waiting = None
    ready = True
    phase = "Running"
    if cond in ("crash_looping", "oom_killed", "config_error"):
        ready = False
        restarts = rng.randint(5, 30)
        waiting = "CrashLoopBackOff"
        reason, code = {
            "crash_looping": ("Error", 137),
            "oom_killed": ("OOMKilled", 137),
            "config_error": ("Error", 1),
        }[cond]
        last = {"reason": reason, "exit_code": code, "minutes_ago": rng.randint(1, 4)}
        if cond == "oom_killed":
            usage = limit - rng.randint(0, 4)
        if cond == "config_error":
            usage = rng.randint(8, 30)
    deployment = world["objects"].get(pod["deployment"], {})
    if deployment.get("condition") == "bad_release":
        ready, restarts, waiting = False, rng.randint(4, 12), "CrashLoopBackOff"
        last = {"reason": "Error", "exit_code": 2, "minutes_ago": rng.randint(1, 3)}
        usage = rng.randint(20, 60)
    elif deployment.get("condition") == "saturated":
        usage = rng.randint(380, 470)
    return {
        "pod": name,
        "owner": pod["deployment"],
        "phase": phase,
        "ready": ready,
        "restart_count": restarts,
        "state": f"waiting: {waiting}" if waiting else "running",
        "last_termination": last,
        "memory_limit_mib": limit,
        "memory_usage_mib": usage,
        "cpu_usage_pct_of_limit": _r(_pod_cpu(world, pod, rng)),
        "node": f"k8s-node-{rng.randint(1, 6):02d}",
    }


def _pod_cpu(world: dict[str, Any], pod: dict[str, Any], rng: random.Random) -> float:
    deployment = world["objects"].get(pod["deployment"], {})
    if deployment.get("condition") == "saturated":
        return rng.uniform(93, 100)
    if pod.get("condition") == "crash_looping":
        return rng.uniform(0, 3)
    return rng.uniform(8, 55)


def pod_summary(world: dict[str, Any], name: str) -> dict[str, Any]:
    pod = _kind(world, name, "pod")
    view = _pod_view(world, name, pod)
    view["events"] = _pod_events(world, name, pod)
    return view


def _pod_events(world: dict[str, Any], name: str, pod: dict[str, Any]) -> list[dict[str, Any]]:
    cond = pod.get("condition")
    deployment = world["objects"].get(pod["deployment"], {})
    rng = _rng(name, f"podevents|{cond}")
    short = name.split("/", 1)[-1]
    events: list[dict[str, Any]] = []
    if rng.random() < 0.4:
        events.append(
            {
                "type": "Normal",
                "reason": "Pulled",
                "minutes_ago": rng.randint(200, 5000),
                "message": "Container image already present on machine",
            }
        )
    backoff = {
        "type": "Warning",
        "reason": "BackOff",
        "minutes_ago": 1,
        "message": f"Back-off restarting failed container in pod {short}",
    }
    if cond == "crash_looping":
        events += [
            {"type": "Warning", "reason": "Unhealthy", "minutes_ago": 2,
             "message": "Liveness probe failed: Get \"http://10.42.3.17:8080/healthz\": "
                        "context deadline exceeded"},
            {"type": "Normal", "reason": "Killing", "minutes_ago": 2,
             "message": "Container app failed liveness probe, will be restarted"},
            backoff,
        ]  # fmt: skip
    elif cond in ("oom_killed", "config_error") or deployment.get("condition") == "bad_release":
        events.append(backoff)
    elif rng.random() < 0.3:
        events.append(
            {"type": "Warning", "reason": "Unhealthy", "minutes_ago": rng.randint(300, 4000),
             "message": "Readiness probe failed: HTTP probe failed with statuscode: 503"}
        )  # fmt: skip
    return sorted(events, key=lambda e: e["minutes_ago"])


def pod_logs(world: dict[str, Any], name: str, lines: int = 20) -> dict[str, Any]:
    pod = _kind(world, name, "pod")
    cond = pod.get("condition")
    deployment = world["objects"].get(pod["deployment"], {})
    rng = _rng(name, f"logs|{cond}|{deployment.get('condition')}")
    out = [
        "INFO  starting server on :8080",
        "INFO  connected to cache redis-master:6379",
        "INFO  ready: serving requests",
    ]
    out += [
        f"INFO  GET /api/items {rng.choice([200, 200, 200, 304])} {rng.randint(4, 90)}ms"
        for _ in range(4)
    ]
    dep_cond = deployment.get("condition")
    if cond == "crash_looping":
        out += [
            "WARN  worker pool: 64/64 workers busy, request queue 512",
            "WARN  worker 17 blocked for 120s in lock acquisition (session store)",
            "WARN  healthz handler timed out after 5s",
        ]
    elif cond == "oom_killed":
        out += [f"INFO  cache warmup: {n * 60} MiB loaded" for n in range(3, 9)]
    elif cond == "config_error":
        out = [
            "INFO  loading configuration from /etc/app/config.yaml",
            "ERROR configuration invalid: key 'database.url' is required (line 14)",
            "FATAL exiting: cannot start with an invalid configuration",
        ]
    elif dep_cond == "bad_release":
        out = [
            "INFO  starting server on :8080",
            "panic: runtime error: invalid memory address or nil pointer dereference",
            "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x7c6a1f]",
            "goroutine 1 [running]: main.(*Router).Mount(...) router.go:88",
        ]
    elif dep_cond == "dependency_down":
        out += [
            "ERROR query failed: dial tcp 10.43.8.21:5432: connect: connection refused "
            "(db-primary.default.svc)"
        ] * 3
    elif dep_cond == "saturated":
        out += [
            f"WARN  GET /api/items 200 {rng.randint(1200, 3800)}ms (slow request)" for _ in range(3)
        ]
    lines = max(1, min(int(lines), 200))
    return {"pod": name, "lines": out[-lines:]}


def deployment_summary(world: dict[str, Any], name: str) -> dict[str, Any]:
    dep = _kind(world, name, "deployment")
    cond = dep.get("condition")
    rng = _rng(name, f"deployment|{cond}|{dep['revision']}")
    current = dep["revision"]
    # When each revision was rolled out: the current one recently or long ago (a rollout ten
    # minutes ago is common and usually harmless), older ones days apart.
    if cond == "bad_release":
        rollout = int(_since(dep, rng.randint(4, 25)))
    else:
        rollout = rng.choice([rng.randint(6, 15), rng.randint(60, 600), rng.randint(2000, 30000)])
    revisions = []
    for rev in sorted((int(r) for r in dep["history"]), reverse=True):
        ago = rollout if rev == current else rollout + (current - rev) * rng.randint(1500, 9000)
        if rev > current:
            ago = rng.randint(2, 60)
        revisions.append(
            {"revision": rev, "image": dep["history"][str(rev)], "created_minutes_ago": ago}
        )
    err_now, err_before = rng.uniform(0.05, 0.6), rng.uniform(0.05, 0.6)
    p95_now, p95_before = rng.uniform(90, 240), rng.uniform(90, 240)
    rising_since: int | None = None
    cpu = rng.uniform(10, 55)
    if cond == "bad_release":
        err_now, p95_now, rising_since = rng.uniform(25, 80), rng.uniform(300, 900), rollout
    elif cond == "saturated":
        began = int(_since(dep, rng.randint(20, 90)))
        err_now, p95_now, cpu = rng.uniform(2, 7), rng.uniform(1200, 4200), rng.uniform(93, 100)
        if rollout < began:  # the rollout came after the load: "before" was already bad
            err_before, p95_before = err_now * rng.uniform(0.85, 1.1), p95_now * rng.uniform(0.8, 1)
        rising_since = began
    elif cond == "dependency_down":
        began = int(_since(dep, rng.randint(15, 90)))
        err_now, p95_now = rng.uniform(20, 70), rng.uniform(250, 600)
        if rollout < began:
            err_before = err_now * rng.uniform(0.85, 1.1)
        rising_since = began
    return {
        "deployment": name,
        "replicas": dep["replicas"],
        "ready_replicas": dep["ready_replicas"],
        "revision": current,
        "revisions": revisions,
        "last_rollout_minutes_ago": rollout,
        "max_replicas_quota": dep["max_replicas"],
        "http": {
            "error_rate_pct_now": _r(err_now, 2),
            "error_rate_pct_before_last_rollout": _r(err_before, 2),
            "p95_latency_ms_now": _r(p95_now, 0),
            "p95_latency_ms_before_last_rollout": _r(p95_before, 0),
            "errors_rising_since_minutes": rising_since,
        },
        "cpu_usage_pct_of_requests": _r(cpu),
        "pods": sorted(
            n for n, o in world["objects"].items() if o["kind"] == "pod" and o["deployment"] == name
        ),
    }


# --- Network ------------------------------------------------------------------------------


def device_summary(world: dict[str, Any], name: str) -> dict[str, Any]:
    device = _kind(world, name, "device")
    rng = _rng(name, "device")
    return {
        "device": name,
        "reachable": device["reachable"],
        "uptime_days": rng.randint(20, 700),
        "cpu_pct": _r(rng.uniform(3, 30)),
        "interfaces": {
            i: _oper_status(v, f"{name} {i}") for i, v in sorted(device["interfaces"].items())
        },
    }


def _oper_status(holder: dict[str, Any], key: str) -> str:
    """What ``show interfaces`` says: up, down or err-disabled (a flapping link is caught in
    one of the first two)."""
    oper = holder["oper"]
    if oper in ("up", "down", "err-disabled"):
        return str(oper)
    return _rng(key, f"oper|{holder.get('condition')}").choice(["up", "down"])


def interface_summary(world: dict[str, Any], device_name: str, interface: str) -> dict[str, Any]:
    device = _kind(world, device_name, "device")
    holder = device["interfaces"].get(interface)
    if holder is None:
        raise LabError(f"device {device_name!r} has no interface {interface!r}")
    cond = holder.get("condition")
    rng = _rng(f"{device_name} {interface}", f"if|{cond}")
    errors = holder["errors"] or rng.choice([0, 0, rng.randint(1, 40)])
    crc, rate, flaps = errors // 2, 0.0, 0
    rx = rng.uniform(-3.5, -1.2)
    last_change = rng.randint(3000, 90000)
    reason = None
    violations = 0
    last_error = rng.randint(20000, 200000) if errors else None
    oper = _oper_status(holder, f"{device_name} {interface}")
    if cond == "interface_errors":
        crc, last_error = int(errors * rng.uniform(0.6, 0.95)), rng.randint(4000, 60000)
    elif cond == "err_disabled":
        oper, reason = "err-disabled", rng.choice(["bpduguard", "psecure-violation", "link-flap"])
        last_change = int(_since(holder, rng.randint(20, 240)))
    elif cond == "flapping":
        flaps, last_change = rng.randint(8, 30), rng.randint(0, 3)
    elif cond == "physical_fault":
        flaps, last_change = rng.randint(2, 12), rng.randint(1, 20)
        rate = rng.uniform(40, 400)
        errors = holder["errors"] + rng.randint(20000, 90000)
        crc, last_error, rx = int(errors * 0.9), 0, rng.uniform(-19, -14)
    return {
        "device": device_name,
        "interface": interface,
        "admin_status": holder["admin"],
        "oper_status": oper,
        "err_disabled_reason": reason,
        "errdisable_violations_last_15m": violations,
        "input_errors_total": errors,
        "crc_errors_total": crc,
        "errors_per_minute_now": _r(rate),
        "last_error_minutes_ago": last_error,
        "counters_last_cleared": "never" if not holder.get("bounces") else "after last bounce",
        "flaps_last_hour": flaps,
        "last_change_minutes_ago": last_change,
        "rx_power_dbm": _r(rx, 2),
    }


# --- Storage -------------------------------------------------------------------------------


def volume_summary(world: dict[str, Any], name: str) -> dict[str, Any]:
    vol = _kind(world, name, "volume")
    cond = vol.get("condition")
    rng = _rng(name, f"volume|{cond}")
    size = vol["size_gb"]
    used = vol["used_gb"]
    growth = rng.uniform(0.3, 6)
    top = {"/data": 0.7, "/var/log": 0.05, "/home": 0.05}
    if cond == "volume_full":
        growth = rng.uniform(18, 60)
        top = {"/data": rng.uniform(0.86, 0.94), "/var/log": rng.uniform(0.01, 0.04)}
    elif cond == "log_growth":
        used = int(size * rng.uniform(0.96, 0.995))
        growth = rng.uniform(40, 140)
        top = {"/var/log/app": rng.uniform(0.62, 0.8), "/data": rng.uniform(0.15, 0.3)}
    snapshot_gb = sum(s["size_gb"] for s in vol["snapshots"])
    # Snapshot space comes out of the same pool: what the array reports as used.
    used_total = min(size, used + snapshot_gb)
    return {
        "volume": name,
        "attached_to": vol.get("attached_to"),
        "size_gb": size,
        "used_gb": used_total,
        "used_pct": _r(100.0 * used_total / size),
        "file_data_gb": used,
        "inodes_used_pct": _r(rng.uniform(8, 42)),
        "growth_gb_per_day": _r(growth),
        "top_directories": [
            {"path": path, "gb": int(used * share)}
            for path, share in sorted(top.items(), key=lambda kv: -kv[1])
        ],
        "snapshots": [
            {"name": s["name"], "age_days": s["age_days"], "size_gb": s["size_gb"], "hold": False}
            for s in sorted(vol["snapshots"], key=lambda s: s["age_days"])
        ],
        "snapshot_total_gb": snapshot_gb,
        "online": vol["online"],
        "array_free_gb": vol["array_free_gb"],
    }


# --- OpenStack ---------------------------------------------------------------------------


def instance_summary(world: dict[str, Any], name: str) -> dict[str, Any]:
    inst = _kind(world, name, "instance")
    cond = inst.get("condition")
    rng = _rng(name, f"instance|{cond}|{inst['flavor']}")
    flavor = FLAVORS[inst["flavor"]]
    status, power, task = inst["status"], "Running", None
    checks = {"system": "ok", "instance": "ok"}
    cpu, mem, load = rng.uniform(6, 50), rng.uniform(30, 65), rng.uniform(0.1, 1.5)
    console = ["[  OK  ] Started Application server.", f"app login: ({rng.randint(2, 40)} min ago)"]
    fault = None
    if cond == "instance_hung":
        checks["instance"] = "impaired: guest agent not responding"
        cpu = rng.choice([rng.uniform(0, 1.5), 100.0 / flavor["vcpus"]])
        console = [
            f"[{rng.randint(9000, 90000)}.{rng.randint(10, 99)}] INFO: task jbd2/vda1-8:312 "
            "blocked for more than 120 seconds.",
            "(console output stopped)",
        ]
    elif cond == "undersized":
        cpu, mem, load = (
            rng.uniform(96, 100),
            rng.uniform(93, 99),
            rng.uniform(2.5, 4) * flavor["vcpus"],
        )
    elif cond == "instance_error":
        status, power = "ERROR", "NOSTATE"
        checks = {"system": "failed", "instance": "failed"}
        fault = {
            "code": 500,
            "message": f"Compute host compute-{rng.randint(3, 12):02d} is not responding; "
            "the hypervisor connection was lost",
        }
        cpu, mem, load = 0.0, 0.0, 0.0
    return {
        "instance": name,
        "status": status,
        "power_state": power,
        "task_state": task,
        "status_checks": checks,
        "fault": fault,
        "flavor": inst["flavor"],
        "vcpus": flavor["vcpus"],
        "ram_gb": flavor["ram_gb"],
        "cpu_util_pct": _r(cpu),
        "mem_util_pct": _r(mem),
        "load_average_15m": _r(load, 2),
        "console_tail": console,
    }


def _kind(world: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
    obj = get_object(world, name)
    if obj["kind"] != kind:
        raise LabError(f"{name!r} is a {obj['kind']}, not a {kind}")
    return obj
