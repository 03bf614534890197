"""Incident kinds the replay knows: what it stages in the lab, how a ticket reads, the fix.

Each kind stages a real lab condition on a target from the lab inventory and names the one
catalogue operation (on which target) that clears it, or ``None`` when no catalogue action
is the right fix (a person must act). Templates vary the wording; noise lines are added at
random. Host names vary per occurrence.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    key: str
    category: str
    condition: str
    targets: tuple[str, ...]
    fix: str | None  # the catalogue operation that fixes it, None: a person
    titles: tuple[str, ...]
    bodies: tuple[str, ...]
    interfaces: tuple[str, ...] = ()


VMS = tuple(f"prod-web-{n:02d}" for n in range(1, 9))
SWITCHES = tuple(f"core-sw-{n:02d}" for n in range(1, 7))
INSTANCES = ("app-instance-01", "app-instance-02", "app-instance-03")
DEPLOYMENTS = ("default/web", "default/api")
PODS = ("default/web-7d9f", "default/web-5c4b", "default/api-3f2a")

KINDS: dict[str, Kind] = {
    "vm_hung": Kind(
        key="vm_hung",
        category="server",
        condition="vm_hung",
        targets=VMS,
        fix="restart_vm",
        titles=("{t} hung: console frozen, VMware tools", "Console frozen, VMware tools: {t} hung"),
        bodies=(
            "vCenter: Virtual machine heartbeat lost for {t}; VMware Tools not running. "
            "Console is frozen, no response to keyboard. Host is healthy, other VMs fine.",
            "VM {t} hung: console frozen, VMware Tools not running since {hh}:{mm}. "
            "The ESXi host is healthy.",
            "The guest {t} is hung (vm unresponsive, tools not running); ping times out. "
            "Hypervisor healthy.",
        ),
    ),
    "bad_release": Kind(
        key="bad_release",
        category="kubernetes",
        condition="bad_release",
        targets=DEPLOYMENTS,
        fix="rollback_deployment",
        titles=(
            "broken release rollout: deployment {t} CrashLoopBackOff",
            "deployment {t} CrashLoopBackOff, broken release rollout",
        ),
        bodies=(
            "All pods of deployment {t} in CrashLoopBackOff right after we deployed "
            "v2.{n}.0. Log: panic: nil pointer dereference. v2.{p}.0 ran fine.",
            "Since the rollout of v2.{n}.1 at {hh}:{mm} every pod of deployment {t} is "
            "CrashLoopBackOff; the previous revision was stable for a week.",
        ),
    ),
    "stale_counters": Kind(
        key="stale_counters",
        category="network",
        condition="interface_errors",
        targets=SWITCHES,
        interfaces=("Gi0/1", "Gi0/2", "Gi0/3", "Gi0/4"),
        fix="clear_interface_errors",
        titles=(
            "stale CRC counters, alert firing on {t} {i}",
            "{t} {i}: alert firing on stale CRC counters",
        ),
        bodies=(
            "The optic on {i} of {t} was replaced yesterday; CRC counters stopped "
            "incrementing since (still {n}0,233 from before). The alert keeps firing on the "
            "absolute counter.",
            "{i} on {t}: input errors are historical, no new errors after the patch cord "
            "was changed. Please clear the counters so monitoring is clean.",
        ),
    ),
    "instance_hung": Kind(
        key="instance_hung",
        category="server",
        condition="instance_hung",
        targets=INSTANCES,
        fix="reboot_instance",
        titles=(
            "instance {t} hung, console frozen, hypervisor healthy",
            "hung instance {t}: console frozen, hypervisor healthy",
        ),
        bodies=(
            "Nova instance {t} unresponsive to SSH; console log shows INFO: task "
            "jbd2/vda1-8:312 blocked for more than 120 seconds. Hypervisor healthy, other "
            "instances fine.",
            "OpenStack instance {t} frozen, noVNC console black and unresponsive, ping ok. "
            "Hypervisor healthy.",
        ),
    ),
    "volume_full": Kind(
        key="volume_full",
        category="storage",
        condition="volume_full",
        targets=("vol-data-01", "vol-data-02"),
        fix="expand_volume",
        titles=(
            "volume {t} full from data growth, expand it",
            "data growth: volume {t} full, expand it",
        ),
        bodies=(
            "Volume {t} is 97% full. Data growth from the new customers is steady, "
            "predicted to fill in 3 days. Expand it to {size} GB.",
            "Storage volume {t} has only 3% available space left; the database has grown "
            "{n}0% this month (expected growth). Grow it to {size} GB.",
        ),
    ),
    "oom_pod": Kind(
        key="oom_pod",
        category="kubernetes",
        condition="crash_looping",
        targets=PODS,
        fix=None,  # OOMKilled: a restart does not help, the limit or the usage must change
        titles=(
            "pod {t} OOMKilled, CrashLoopBackOff, memory limit",
            "OOMKilled pod {t} in CrashLoopBackOff at its memory limit",
        ),
        bodies=(
            "Containers: app: State: Waiting Reason: CrashLoopBackOff. Last State: "
            "Terminated Reason: OOMKilled Exit Code: 137. Restart Count: 1{n}.",
            "Pod {t} keeps restarting: OOMKilled (exit code 137), memory limit 512Mi.",
        ),
    ),
    "err_disabled": Kind(
        key="err_disabled",
        category="network",
        condition="err_disabled",
        targets=SWITCHES,
        interfaces=("Gi0/1", "Gi0/2", "Gi0/3", "Gi0/4"),
        fix=None,  # a protection tripped: someone must find the loop or the rogue switch
        titles=(
            "switch {t} port {i} err-disabled by bpduguard",
            "bpduguard err-disabled port {i} on switch {t}",
        ),
        bodies=(
            "%PM-4-ERR_DISABLE: bpduguard error detected on {i} of {t}, putting {i} in "
            "err-disable state.",
            "Switch {t} port {i} is err-disabled by port security (violation).",
        ),
    ),
}

NOISE = (
    "Reported by the night shift.",
    "Customer impact unclear.",
    "Seen from the monitoring dashboard.",
    "Ticket raised automatically.",
    "Users in the EU region noticed first.",
    "Paged the on-call engineer.",
)


@dataclass(frozen=True)
class Incident:
    seq: int
    kind: Kind
    occurrence: int  # 1-based, per kind
    target: str
    interface: str | None
    title: str
    description: str
    drifted: bool
    condition: str


def write_incident(
    rng: random.Random, seq: int, kind: Kind, occurrence: int, drift_condition: str | None
) -> Incident:
    target = rng.choice(kind.targets)
    interface = rng.choice(kind.interfaces) if kind.interfaces else None
    fill = {
        "t": target,
        "i": interface or "",
        "n": rng.randint(2, 9),
        "p": 1,
        "size": {"vol-data-01": 1536, "vol-data-02": 3072}.get(target, 0),
        "hh": f"{rng.randint(0, 23):02d}",
        "mm": f"{rng.randint(0, 59):02d}",
    }
    title = rng.choice(kind.titles).format(**fill)
    body = rng.choice(kind.bodies).format(**fill)
    if rng.random() < 0.5:
        body = f"{body} {rng.choice(NOISE)}"
    return Incident(
        seq=seq,
        kind=kind,
        occurrence=occurrence,
        target=target,
        interface=interface,
        title=title,
        description=body,
        drifted=drift_condition is not None,
        condition=drift_condition or kind.condition,
    )


def incident_stream(scenario: dict) -> list[Incident]:
    """The scenario's incidents, interleaved at random (stable for its seed)."""
    rng = random.Random(scenario.get("seed", 0))
    order: list[str] = []
    for spec in scenario["kinds"]:
        order += [spec["kind"]] * int(spec["count"])
    rng.shuffle(order)
    # Keep each kind's drifted occurrences after its healthy ones: the shuffle decides when
    # a kind recurs, the occurrence number decides whether its fix still works.
    specs = {s["kind"]: s for s in scenario["kinds"]}
    seen: dict[str, int] = {}
    out = []
    for seq, key in enumerate(order, start=1):
        seen[key] = seen.get(key, 0) + 1
        spec = specs[key]
        after = spec.get("drift_after")
        drift = spec.get("drift_condition") if after is not None and seen[key] > after else None
        out.append(write_incident(rng, seq, KINDS[key], seen[key], drift))
    return out
