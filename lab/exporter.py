"""The lab in the exporters' dialect: its objects' state as the standard Prometheus series.

A team that points this system at its estate brings Prometheus with node_exporter,
kube-state-metrics, the kubelet's volume stats, snmp_exporter (IF-MIB), blackbox_exporter
and a vSphere exporter. This module shows the lab's objects as those exporters would, one
sample per object and label set, with the exporters' own metric names, label names, types
and units (docs/investigation.md, "The exporters' series", lists every series):

* each VM and OpenStack instance runs node_exporter (``job="node"``,
  ``instance="prod-web-01:9100"``): load, memory, swap, major page faults, filesystems (the
  root one, and the data volume attached to it), network errors;
* the VMs also appear in vCenter through a vSphere exporter (pryorda/vmware_exporter's
  ``vmware_vm_*`` series, ``job="vmware"``);
* pods and deployments through kube-state-metrics; the volume no VM mounts as a
  PersistentVolumeClaim through the kubelet's volume stats;
* the switches' interfaces through snmp_exporter's ``if_mib`` module (``job="snmp"``,
  ``instance`` the device, as its documented relabelling sets it);
* the web VMs and the deployments' services through blackbox_exporter's ``http_2xx`` probes.

Every sample carries ``job`` and ``instance`` as the real scrape would: one endpoint speaks
for many targets, so a Prometheus scraping it keeps them with ``honor_labels: true``
(deploy/prometheus/lab-scrape.yml). ``up`` is exported per target: a hung VM's or instance's
node_exporter and an unreachable switch do not answer, so their ``up`` is 0 and their own
series are absent, as after a failed scrape.

Counters grow with time at a rate the state sets (an interface with errors staged counts
errors fast; healthy ones barely move), accumulated between scrapes, so they never go back:
rules read them through ``rate()`` and ``increase()`` as on a real estate, and a fix makes
the rate fall back. Readings vary per object (seeded by its name) and never name the staged
condition. Like ``signals``, nothing here imports Django.

Run it: ``python -m lab exporter [--port 9464] [--host 127.0.0.1]``, or
``python -m lab exporter --once`` to print one exposition to stdout.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    UnknownMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from lab.inventory import FLAVORS
from lab.state import LabState

DEFAULT_PORT = 9464
GIB = 1024**3

# Where each kind of object is scraped from: the jobs and instances of a usual estate.
NODE_PORT = 9100
KSM_INSTANCE = "kube-state-metrics.kube-system.svc:8080"
KUBELET_PORT = 10250
VCENTER = "vcenter.lab"
DATACENTER, CLUSTER = "lab-dc", "lab-cluster"
OPENSTACK = {"job": "openstack", "instance": "openstack-exporter:9180"}
TENANT_ID, USER_ID = "4f7c2a9d1e8b4c6a9f3d2e1b0a9c8d7e", "9a8b7c6d5e4f4a3b2c1d0e9f8a7b6c5d"
# openstack-exporter's numbers for nova's server statuses (its knownServerStatuses).
NOVA_SERVER_STATUS = {
    "ACTIVE": 0, "BUILD": 1, "DELETED": 3, "ERROR": 4, "HARD_REBOOT": 5, "REBOOT": 7,
    "REBUILD": 8, "RESCUE": 9, "RESIZE": 10, "SHUTOFF": 11, "SUSPENDED": 12, "UNKNOWN": 13,
    "VERIFY_RESIZE": 14, "MIGRATING": 15, "PAUSED": 16,
}  # fmt: skip
FLAVOR_IDS = {"m1.tiny": "1", "m1.small": "2", "m1.medium": "3", "m1.large": "4", "m1.xlarge": "5"}
CONTAINER = "app"  # the pods' one container (what their events and logs name)

# Counters the real exporters expose without the ``_total`` suffix: IF-MIB's Counter32
# objects keep their MIB names under snmp_exporter (and are typed counter there).
_BARE_COUNTERS = ("ifInErrors", "ifOutErrors")

# Rates (per second) that the state sets.
RESTARTS_CRASHLOOP = 1 / 30  # a container restarted every 30 s while it crash-loops
PROBE_EVERY = 1 / 10  # the kubelet probes each container every 10 s (periodSeconds)
CPU_LIMIT, CPU_REQUEST = 0.5, 0.25  # cores, the pods' container
CFS_PERIODS_PER_S = 10.0  # CFS enforces the limit over 100 ms periods
# Errors counted now: a failing optic counts them; ``interface_errors`` is the lab's large
# error total that stopped growing hours ago (its last error long past), so it does not.
IF_ERRORS = {None: 0.0, "physical_fault": 4.0}
PGMAJFAULT = {None: 1.0, "memory_pressure": 900.0, "undersized": 650.0}
RX_PACKETS, TX_PACKETS = 1500.0, 1200.0
# A full volume keeps filling: this share of its size per hour, down to a last sliver.
FILL_PER_HOUR = 0.005
LAST_SLIVER = 0.0005


def _rng(name: str, salt: str = "") -> random.Random:
    """The same readings for the same object, different across objects."""
    return random.Random(zlib.crc32(f"{name}|{salt}".encode()))  # noqa: S311 (noise)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def _with(base: dict[str, str], **more: str) -> dict[str, str]:
    return {**base, **more}


class _Families:
    """The metric families of one scrape, created on first use, in a stable order."""

    def __init__(self) -> None:
        self._families: dict[str, Metric] = {}

    def gauge(self, name: str, doc: str, labels: dict[str, str], value: float) -> None:
        self._add(name, lambda: GaugeMetricFamily(name, doc, labels=list(labels)), labels, value)

    def counter(self, name: str, doc: str, labels: dict[str, str], value: float) -> None:
        base = name.removesuffix("_total")
        family = lambda: CounterMetricFamily(base, doc, labels=list(labels))  # noqa: E731
        self._add(name, family, labels, value)

    def bare_counter(self, name: str, doc: str, labels: dict[str, str], value: float) -> None:
        """A counter whose samples keep the name without ``_total`` (IF-MIB's)."""
        family = self._families.get(name)
        if family is None:
            family = self._families[name] = Metric(name, doc, "counter")
        family.add_sample(name, labels, value)

    def untyped(self, name: str, doc: str, labels: dict[str, str], value: float) -> None:
        family = lambda: UnknownMetricFamily(name, doc, labels=list(labels))  # noqa: E731
        self._add(name, family, labels, value)

    def _add(self, name: str, make: Any, labels: dict[str, str], value: float) -> None:
        family = self._families.get(name)
        if family is None:
            family = self._families[name] = make()
        family.add_metric([labels[k] for k in family._labelnames], value)  # type: ignore[union-attr]

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._families.values())


class Exporter:
    """Turns the lab's state into the exporters' series at a given time.

    Counters are accumulated here, between calls: each call adds the rate the state sets
    now times the time since the previous call. One exporter process keeps them; a new one
    starts them again from their base (a counter reset, which ``rate()`` handles)."""

    def __init__(self, state: LabState | None = None, *, started: float | None = None) -> None:
        self.state = state if state is not None else LabState()
        self.started = time.time() if started is None else started
        self._last: float | None = None
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._generations: dict[str, tuple[Any, int]] = {}
        self._lock = threading.Lock()

    # --- the public surface ----------------------------------------------------------------

    def families(
        self, now: float | None = None, seen: tuple[dict[str, Any], set[str]] | None = None
    ) -> list[Metric]:
        """Every family of one scrape at ``now`` (default: the clock), of the state as read
        now (or as ``seen``: the world and its unreachable targets, read once)."""
        now = time.time() if now is None else now
        with self._lock:
            world, unreachable = self._read() if seen is None else seen
            elapsed = 0.0 if self._last is None else max(0.0, now - self._last)
            self._last = now if self._last is None else max(self._last, now)
            out = _Families()
            scrape = _Scrape(self, world, unreachable, now, elapsed, out)
            scrape.run()
            return list(out)

    def _read(self) -> tuple[dict[str, Any], set[str]]:
        with self.state.tx() as tx:
            return tx.world, {f.target for f in tx.faults() if f.kind == "unreachable"}

    def history(self, seconds: float, step: float, end: float | None = None) -> bytes:
        """The simulated past as OpenMetrics text with timestamps, to backfill a fresh
        Prometheus (``promtool tsdb create-blocks-from openmetrics``): one scrape every
        ``step`` seconds from ``end - seconds`` up to ``end`` (default: the clock), each
        object as the state shows it now, as if it had been so all along. The counters
        advance as they would have, and this exporter goes on counting from there, so live
        scrapes after the history continue its series (``rate()`` over a real window reads
        the rate, not a young series' ramp)."""
        end = time.time() if end is None else end
        count = max(1, int(seconds // step))
        series: dict[str, list[str]] = {}
        seen = self._read()
        for n in range(count, -1, -1):
            at = end - n * step
            for family in self.families(at, seen):
                for sample in family.samples:
                    labels = ",".join(
                        f'{k}="{_escape(v)}"' for k, v in sorted(sample.labels.items())
                    )
                    series.setdefault(sample.name, []).append(
                        f"{sample.name}{{{labels}}} {_number(sample.value)} {at:.3f}"
                    )
        lines = [line for name in sorted(series) for line in series[name]]
        return ("\n".join([*lines, "# EOF"]) + "\n").encode()

    def exposition(self, now: float | None = None) -> bytes:
        """The text exposition format (0.0.4), as the exporters answer ``/metrics``."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(self.families(now)))
        text = generate_latest(registry).decode()
        # The client names every counter ``<name>_total``; IF-MIB's keep their MIB names.
        for name in _BARE_COUNTERS:
            text = text.replace(f"# HELP {name}_total ", f"# HELP {name} ")
            text = text.replace(f"# TYPE {name}_total ", f"# TYPE {name} ")
        return text.encode()

    # --- counters ------------------------------------------------------------------------

    def _count(
        self,
        name: str,
        labels: dict[str, str],
        rate: float,
        base: float,
        dt: float,
        at_least: float = 0.0,
    ) -> float:
        key = (name, tuple(sorted(labels.items())))
        value = max(self._counters.get(key, base) + rate * dt, at_least)
        self._counters[key] = value
        return value

    def _generation(self, name: str, spec: Any, start: int) -> int:
        """metadata.generation: one more at each change of the deployment's spec."""
        seen = self._generations.get(name)
        if seen is None:
            seen = (spec, start)
        elif seen[0] != spec:
            seen = (spec, seen[1] + 1)
        self._generations[name] = seen
        return seen[1]


class _Snapshot(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


class _Scrape:
    """One scrape: walks the world and writes each kind's series."""

    def __init__(
        self,
        exporter: Exporter,
        world: dict[str, Any],
        unreachable: set[str],
        now: float,
        dt: float,
        out: _Families,
    ) -> None:
        self.exporter, self.world, self.unreachable = exporter, world, unreachable
        self.now, self.dt, self.out = now, dt, out
        self.objects: dict[str, dict[str, Any]] = world["objects"]

    def run(self) -> None:
        # Up first: it is the one series every target has.
        for name, obj in sorted(self.objects.items()):
            kind = obj["kind"]
            if kind in ("vm", "instance"):
                self.node(name, obj)
            elif kind == "device":
                self.switch(name, obj)
        for name, obj in sorted(self.objects.items()):
            if obj["kind"] == "vm":
                self.vsphere(name, obj)
        self.up({"job": "vmware", "instance": VCENTER}, True)
        self.nova()
        self.up({"job": "kube-state-metrics", "instance": KSM_INSTANCE}, True)
        for name, obj in sorted(self.objects.items()):
            if obj["kind"] == "pod":
                self.pod(name, obj)
            elif obj["kind"] == "deployment":
                self.deployment(name, obj)
        for name, obj in sorted(self.objects.items()):
            if obj["kind"] == "volume" and not obj.get("attached_to"):
                self.claim(name, obj)
        for name, obj in sorted(self.objects.items()):
            if obj["kind"] == "deployment" or (obj["kind"] == "vm" and "-web-" in name):
                self.probe(name, obj)

    # --- helpers -------------------------------------------------------------------------

    def up(self, target: dict[str, str], answers: bool) -> None:
        self.out.gauge(
            "up",
            "1 if the target's exporter answered the scrape, 0 if it did not.",
            target,
            1.0 if answers else 0.0,
        )

    def count(
        self,
        name: str,
        doc: str,
        labels: dict[str, str],
        rate: float,
        base: float = 0.0,
        *,
        emit: bool = True,
        at_least: float = 0.0,
    ) -> None:
        """Add to a counter; show it unless its target did not answer (it counts on). A
        counter is never below what the lab says was counted (``at_least``: errors staged
        in the past show as counted, then as not growing)."""
        value = self.exporter._count(name, labels, rate, base, self.dt, at_least)
        if not emit:
            return
        if name in _BARE_COUNTERS:
            self.out.bare_counter(name, doc, labels, float(int(value)))
        elif name == "node_vmstat_pgmajfault":
            self.out.untyped(name, doc, labels, float(int(value)))
        else:
            self.out.counter(name, doc, labels, float(int(value)))

    def hours_since(self, holder: dict[str, Any]) -> float:
        at = holder.get("condition_at")
        return max(0.0, (self.now - float(at)) / 3600.0) if at else 0.0

    # --- node_exporter -------------------------------------------------------------------

    def node(self, name: str, obj: dict[str, Any]) -> None:
        target = {"job": "node", "instance": f"{name}:{NODE_PORT}"}
        cond = obj.get("condition")
        if obj["kind"] == "vm":
            cpus, memory_gb = obj["cpus"], obj["memory_gb"]
            down = cond == "vm_hung" or obj.get("power") != "on"
        else:
            flavor = FLAVORS[obj["flavor"]]
            cpus, memory_gb = flavor["vcpus"], flavor["ram_gb"]
            down = cond in ("instance_hung", "instance_error")
        down = down or name in self.unreachable
        self.up(target, not down)
        # The counters keep counting on the machine while nobody can read them.
        rng = _rng(name, "node")
        self.count(
            "node_vmstat_pgmajfault",
            "/proc/vmstat information field pgmajfault.",
            target,
            PGMAJFAULT.get(cond, PGMAJFAULT[None]),
            rng.randint(10_000, 900_000),
            emit=not down,
        )
        if down:
            return
        out = self.out
        load = {
            "cpu_saturated": 2.5,
            "memory_pressure": 1.8,
            "cpu_contention": 1.4,
            "undersized": 3.0,
        }.get(cond or "", rng.uniform(0.1, 0.6)) * cpus
        for minutes, factor in ((1, 1.0), (5, 0.95), (15, 0.85)):
            out.gauge(
                f"node_load{minutes}", f"{minutes}m load average.", target, round(load * factor, 2)
            )
        total = memory_gb * GIB
        available = {"memory_pressure": rng.uniform(0.02, 0.04), "undersized": 0.05}.get(
            cond or "", rng.uniform(0.35, 0.65)
        )
        out.gauge(
            "node_memory_MemTotal_bytes",
            "Memory information field MemTotal_bytes.",
            target,
            float(total),
        )
        out.gauge(
            "node_memory_MemAvailable_bytes",
            "Memory information field MemAvailable_bytes.",
            target,
            float(int(total * available)),
        )
        swap = 4 * GIB
        swap_free = rng.uniform(0.05, 0.3) if cond == "memory_pressure" else rng.uniform(0.97, 1)
        out.gauge(
            "node_memory_SwapTotal_bytes",
            "Memory information field SwapTotal_bytes.",
            target,
            float(swap),
        )
        out.gauge(
            "node_memory_SwapFree_bytes",
            "Memory information field SwapFree_bytes.",
            target,
            float(int(swap * swap_free)),
        )
        self.filesystems(name, obj, target)
        device = _with(target, device="eth0")
        for direction, packets in (("receive", RX_PACKETS), ("transmit", TX_PACKETS)):
            self.count(
                f"node_network_{direction}_packets_total",
                f"Network device statistic {direction}_packets.",
                device,
                packets,
                rng.randint(10**8, 10**9),
            )
            self.count(
                f"node_network_{direction}_errs_total",
                f"Network device statistic {direction}_errs.",
                device,
                0.0,
                rng.randint(0, 30),
            )

    def filesystems(self, name: str, obj: dict[str, Any], target: dict[str, str]) -> None:
        rng = _rng(name, "rootfs")
        mounts = [("/dev/sda1", "ext4", "/", 50 * GIB, rng.uniform(0.25, 0.55), rng)]
        attached = sorted(
            (n, v)
            for n, v in self.objects.items()
            if v["kind"] == "volume" and v.get("attached_to") == name
        )
        for letter, (vol_name, vol) in zip("bcdefg", attached, strict=False):
            mountpoint = "/var/log" if "log" in vol_name else "/data"
            used = self.volume_used(vol)
            mounts.append(
                (
                    f"/dev/sd{letter}",
                    "xfs",
                    mountpoint,
                    vol["size_gb"] * GIB,
                    used,
                    _rng(vol_name, "fs"),
                ),
            )
        for device, fstype, mountpoint, size, used, vrng in mounts:
            labels = _with(target, device=device, fstype=fstype, mountpoint=mountpoint)
            files = size // 16384  # mkfs' default: one inode per 16 KiB
            files_used = vrng.uniform(0.08, 0.42)
            self.out.gauge(
                "node_filesystem_size_bytes", "Filesystem size in bytes.", labels, float(size)
            )
            self.out.gauge(
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                labels,
                float(int(size * (1 - used))),
            )
            self.out.gauge(
                "node_filesystem_files", "Filesystem total file nodes.", labels, float(files)
            )
            self.out.gauge(
                "node_filesystem_files_free",
                "Filesystem total free file nodes.",
                labels,
                float(int(files * (1 - files_used))),
            )
            self.out.gauge("node_filesystem_readonly", "Filesystem read-only status.", labels, 0.0)

    def volume_used(self, vol: dict[str, Any]) -> float:
        """The share of a volume's filesystem in use; a full one keeps filling."""
        cond = vol.get("condition")
        used = vol["used_gb"] / vol["size_gb"]
        if cond == "log_growth":
            used = max(used, 0.975)
        if cond in ("volume_full", "log_growth"):
            used = min(1 - LAST_SLIVER, used + FILL_PER_HOUR * self.hours_since(vol))
        return used

    # --- the vSphere exporter ------------------------------------------------------------

    def vsphere(self, name: str, vm: dict[str, Any]) -> None:
        cond = vm.get("condition")
        rng = _rng(name, "vsphere")
        labels = {
            "job": "vmware",
            "instance": VCENTER,
            "vm_name": name,
            "host_name": vm["host"],
            "dc_name": DATACENTER,
            "cluster_name": CLUSTER,
        }
        out = self.out
        out.gauge(
            "vmware_vm_power_state",
            "VMWare VM Power state (On / Off)",
            labels,
            1.0 if vm.get("power") == "on" else 0.0,
        )
        out.gauge(
            "vmware_vm_num_cpu",
            "VMWare Number of processors in the virtual machine",
            labels,
            float(vm["cpus"]),
        )
        out.gauge(
            "vmware_vm_memory_max",
            "VMWare VM Memory Max availability in Mbytes",
            labels,
            float(vm["memory_gb"] * 1024),
        )
        tools = "toolsOk" if vm["tools"] == "running" and cond != "vm_hung" else "toolsNotRunning"
        out.gauge(
            "vmware_vm_guest_tools_running_status",
            "VM tools running status",
            _with(labels, tools_status=tools),
            1.0,
        )
        cpu = rng.uniform(6, 48)
        ready = rng.uniform(0.3, 2.6)
        mem, balloon_mb, swapped_mb = rng.uniform(32, 72), 0.0, 0.0
        if cond == "vm_hung":
            cpu = rng.choice([rng.uniform(0, 2), 100.0 / vm["cpus"]])
        elif cond == "memory_pressure":
            cpu, mem = rng.uniform(35, 80), rng.uniform(95.5, 99.6)
            balloon_mb, swapped_mb = rng.randint(400, 2400), rng.randint(1024, 6144)
        elif cond == "cpu_saturated":
            cpu = rng.uniform(96, 100)
        elif cond == "cpu_contention":
            cpu, ready = rng.uniform(55, 85), rng.uniform(18, 36)
        # As vCenter reports them: percentages in hundredths, ready time in milliseconds
        # summed over the VM's vCPUs per 20 s sample, memory in kilobytes.
        out.gauge(
            "vmware_vm_cpu_usage_average",
            "vmware_vm_cpu_usage_average",
            labels,
            float(int(cpu * 100)),
        )
        out.gauge(
            "vmware_vm_cpu_ready_summation",
            "vmware_vm_cpu_ready_summation",
            labels,
            float(int(ready / 100 * 20000 * vm["cpus"])),
        )
        out.gauge(
            "vmware_vm_mem_usage_average",
            "vmware_vm_mem_usage_average",
            labels,
            float(int(mem * 100)),
        )
        out.gauge(
            "vmware_vm_mem_vmmemctl_average",
            "vmware_vm_mem_vmmemctl_average",
            labels,
            float(balloon_mb * 1024),
        )
        out.gauge(
            "vmware_vm_mem_swapped_average",
            "vmware_vm_mem_swapped_average",
            labels,
            float(swapped_mb * 1024),
        )

    # --- openstack-exporter (nova) -------------------------------------------------------

    def nova(self) -> None:
        """The cloud's servers and flavors, as one openstack-exporter answers for them."""
        self.up(OPENSTACK, True)
        servers = sorted((n, o) for n, o in self.objects.items() if o["kind"] == "instance")
        for name, obj in servers:
            self.nova_server(name, obj)
        if servers:
            self.nova_flavors()

    def nova_server(self, name: str, inst: dict[str, Any]) -> None:
        """openstack-exporter's ``openstack_nova_server_status``: the server's status as a
        number (ACTIVE 0, ERROR 4, ...) and in its ``status`` label, its flavor's id. Nova
        knows a server's status, not its guest's health: a hung guest is ACTIVE."""
        rng = _rng(name, "nova")
        server_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        status = str(inst.get("status") or "ACTIVE")
        labels = _with(
            OPENSTACK,
            id=server_id,
            status=status,
            name=name,
            tenant_id=TENANT_ID,
            user_id=USER_ID,
            address_ipv4=f"10.20.0.{rng.randint(10, 250)}",
            address_ipv6="",
            host_id=f"{rng.getrandbits(224):056x}",
            hypervisor_hostname=f"compute-{rng.randint(1, 12):02d}",
            uuid=server_id,
            availability_zone="nova",
            flavor_id=FLAVOR_IDS[inst["flavor"]],
            instance_libvirt=f"instance-{rng.randint(1, 4000):08x}",
        )
        self.out.gauge(
            "openstack_nova_server_status",
            "server_status",
            labels,
            float(NOVA_SERVER_STATUS.get(status, NOVA_SERVER_STATUS["UNKNOWN"])),
        )

    def nova_flavors(self) -> None:
        for flavor, spec in FLAVORS.items():
            self.out.gauge(
                "openstack_nova_flavor",
                "flavor",
                _with(
                    OPENSTACK,
                    id=FLAVOR_IDS[flavor],
                    name=flavor,
                    vcpus=str(spec["vcpus"]),
                    ram=str(spec["ram_gb"] * 1024),
                    disk=str(spec.get("disk_gb", 20)),
                    is_public="true",
                ),
                1.0,
            )

    # --- kube-state-metrics and the kubelet --------------------------------------------

    def pod(self, name: str, pod: dict[str, Any]) -> None:
        namespace, short = name.split("/", 1)
        labels = {
            "job": "kube-state-metrics",
            "instance": KSM_INSTANCE,
            "namespace": namespace,
            "pod": short,
            "container": CONTAINER,
        }
        cond = pod.get("condition")
        deployment = self.objects.get(pod["deployment"], {})
        bad_release = deployment.get("condition") == "bad_release"
        crashing = bad_release or cond in ("crash_looping", "oom_killed", "config_error")
        rng = _rng(name, "pod")
        base = rng.choice([0, 0, 0, 1])
        self.count(
            "kube_pod_container_status_restarts_total",
            "The number of container restarts per container.",
            labels,
            RESTARTS_CRASHLOOP if crashing else 0.0,
            base,
        )
        self.out.gauge(
            "kube_pod_container_status_waiting",
            "Describes whether the container is currently in waiting state.",
            labels,
            1.0 if crashing else 0.0,
        )
        if crashing:
            self.out.gauge(
                "kube_pod_container_status_waiting_reason",
                "Describes the reason the container is currently in waiting state.",
                _with(labels, reason="CrashLoopBackOff"),
                1.0,
            )
        last = "OOMKilled" if cond == "oom_killed" else "Error" if crashing else None
        if last is None and base:
            last = "Completed"
        if last is not None:
            self.out.gauge(
                "kube_pod_container_status_last_terminated_reason",
                "Describes the last reason the container was in terminated state.",
                _with(labels, reason=last),
                1.0,
            )
        node = f"k8s-node-{rng.randint(1, 6):02d}"
        limits = (("memory", "byte", 512 * 1024**2), ("cpu", "core", CPU_LIMIT))
        for resource, unit, value in limits:
            self.out.gauge(
                "kube_pod_container_resource_limits",
                "The number of requested limit resource by a container.",
                _with(labels, node=node, resource=resource, unit=unit),
                float(value),
            )
        for resource, unit, value in (
            ("memory", "byte", 256 * 1024**2),
            ("cpu", "core", CPU_REQUEST),
        ):
            self.out.gauge(
                "kube_pod_container_resource_requests",
                "The number of requested request resource by a container.",
                _with(labels, node=node, resource=resource, unit=unit),
                float(value),
            )
        code = {"OOMKilled": 137, "Completed": 0}.get(last or "")
        if last == "Error":
            code = 2 if bad_release else 1 if cond == "config_error" else 137
        if code is not None:
            self.out.gauge(
                "kube_pod_container_status_last_terminated_exitcode",
                "Describes the exit code for the last container in terminated state.",
                labels,
                float(code),
            )
        self.kubelet(name, pod, node, crashing, rng)

    def kubelet(
        self, name: str, pod: dict[str, Any], node: str, crashing: bool, rng: random.Random
    ) -> None:
        """The kubelet's probe counters (``/metrics/probes``) and cAdvisor's CPU counters
        (``/metrics/cadvisor``) for the pod's container. A wedged container answers no
        liveness probe and is killed after three failures (every 30 s: 0.1 failures/s); a
        container that exits on its own (a bad configuration, an OOM kill, a broken release)
        is gone before its probes run. A deployment short of capacity runs its containers
        at their CPU limit, throttled by CFS; a slow dependency leaves them idle, waiting."""
        namespace, short = name.split("/", 1)
        cond = pod.get("condition")
        dep_cond = self.objects.get(pod["deployment"], {}).get("condition")
        uid = str(uuid.UUID(int=_rng(name, "uid").getrandbits(128), version=4))
        kubelet = {"job": "kubelet", "instance": f"{node}:{KUBELET_PORT}"}
        probes = _with(
            kubelet,
            metrics_path="/metrics/probes",
            namespace=namespace,
            pod=short,
            container=CONTAINER,
            pod_uid=uid,
        )
        wedged = cond == "crash_looping" and dep_cond != "bad_release"
        for probe_type in ("Liveness", "Readiness"):
            ok = 0.0 if crashing else PROBE_EVERY
            failed = PROBE_EVERY if wedged else 0.0
            for result, rate in (("successful", ok), ("failed", failed)):
                self.count(
                    "prober_probe_total",
                    "Cumulative number of a liveness, readiness or startup probe for a "
                    "container by result.",
                    _with(probes, probe_type=probe_type, result=result),
                    rate,
                    rng.randint(1000, 90000) if result == "successful" else 0,
                )
        share = rng.uniform(0.08, 0.55)  # of its CPU limit
        throttled = rng.uniform(0.0, 0.04)
        if dep_cond == "saturated":
            share, throttled = rng.uniform(0.93, 1.0), rng.uniform(0.35, 0.7)
        elif dep_cond == "dependency_down":
            share, throttled = rng.uniform(0.02, 0.12), 0.0
        elif crashing:
            share, throttled = rng.uniform(0.0, 0.06), 0.0
        cadvisor = _with(
            kubelet,
            metrics_path="/metrics/cadvisor",
            namespace=namespace,
            pod=short,
            container=CONTAINER,
            id=f"/kubepods/burstable/pod{uid}/{zlib.crc32(name.encode()):08x}",
            image=f"registry.lab/{short.rsplit('-', 1)[0]}",
            name=f"k8s_{CONTAINER}_{short}_{namespace}_{uid}_0",
        )
        self.count(
            "container_cpu_usage_seconds_total",
            "Cumulative cpu time consumed in seconds.",
            cadvisor,
            CPU_LIMIT * share,
            rng.randint(10_000, 900_000),
        )
        self.count(
            "container_cpu_cfs_periods_total",
            "Number of elapsed enforcement period intervals.",
            cadvisor,
            CFS_PERIODS_PER_S,
            rng.randint(10**6, 10**8),
        )
        self.count(
            "container_cpu_cfs_throttled_periods_total",
            "Number of throttled period intervals.",
            cadvisor,
            CFS_PERIODS_PER_S * throttled,
            rng.randint(0, 10**5),
        )

    def deployment(self, name: str, dep: dict[str, Any]) -> None:
        namespace, short = name.split("/", 1)
        labels = {
            "job": "kube-state-metrics",
            "instance": KSM_INSTANCE,
            "namespace": namespace,
            "deployment": short,
        }
        available = 0 if dep.get("condition") == "bad_release" else dep["ready_replicas"]
        generation = self.exporter._generation(
            name, (dep["replicas"], dep["revision"]), dep["revision"]
        )
        out = self.out
        out.gauge(
            "kube_deployment_spec_replicas",
            "Number of desired pods for a deployment.",
            labels,
            float(dep["replicas"]),
        )
        out.gauge(
            "kube_deployment_status_replicas_available",
            "The number of available replicas per deployment.",
            labels,
            float(available),
        )
        out.gauge(
            "kube_deployment_status_replicas_updated",
            "The number of updated replicas per deployment.",
            labels,
            float(dep["replicas"]),
        )
        out.gauge(
            "kube_deployment_metadata_generation",
            "Sequence number representing a specific generation of the desired state.",
            labels,
            float(generation),
        )
        out.gauge(
            "kube_deployment_status_observed_generation",
            "The generation observed by the deployment controller.",
            labels,
            float(generation),
        )

    def claim(self, name: str, vol: dict[str, Any]) -> None:
        """A volume no VM mounts is a PersistentVolumeClaim in ``default``, named alike."""
        rng = _rng(name, "fs")
        node = f"k8s-node-{_rng(name, 'node').randint(1, 6):02d}"
        labels = {
            "job": "kubelet",
            "instance": f"{node}:{KUBELET_PORT}",
            "namespace": "default",
            "persistentvolumeclaim": name,
        }
        size = vol["size_gb"] * GIB
        used = self.volume_used(vol)
        inodes = size // 16384
        inodes_used = int(inodes * rng.uniform(0.08, 0.42))
        out = self.out
        out.gauge(
            "kubelet_volume_stats_capacity_bytes",
            "Capacity in bytes of the volume",
            labels,
            float(size),
        )
        out.gauge(
            "kubelet_volume_stats_available_bytes",
            "Number of available bytes in the volume",
            labels,
            float(int(size * (1 - used))),
        )
        out.gauge(
            "kubelet_volume_stats_used_bytes",
            "Number of used bytes in the volume",
            labels,
            float(int(size * used)),
        )
        out.gauge(
            "kubelet_volume_stats_inodes",
            "Maximum number of inodes in the volume",
            labels,
            float(inodes),
        )
        out.gauge(
            "kubelet_volume_stats_inodes_free",
            "Number of free inodes in the volume",
            labels,
            float(inodes - inodes_used),
        )
        out.gauge(
            "kubelet_volume_stats_inodes_used",
            "Number of used inodes in the volume",
            labels,
            float(inodes_used),
        )

    # --- snmp_exporter (if_mib) ----------------------------------------------------------

    def switch(self, name: str, device: dict[str, Any]) -> None:
        target = {"job": "snmp", "instance": name}
        answers = device.get("reachable", True) and name not in self.unreachable
        self.up(target, answers)
        boot = self.exporter.started - _rng(name, "device").randint(20, 700) * 86400
        for index, (ifname, iface) in enumerate(sorted(device["interfaces"].items()), start=1):
            labels = _with(
                target,
                ifIndex=str(index),
                ifName=ifname,
                ifDescr=ifname.replace("Gi", "GigabitEthernet", 1),
                ifAlias=f"{name} to rack-{index:02d}",
            )
            cond = iface.get("condition")
            rng = _rng(f"{name} {ifname}", "if")
            rate = IF_ERRORS.get(cond, 0.0)
            base = float(iface.get("errors") or rng.choice([0, 0, rng.randint(1, 40)]))
            self.count(
                "ifInErrors",
                "The number of inbound packets that contained errors "
                "preventing them from being deliverable to a higher-layer protocol - "
                "1.3.6.1.2.1.2.2.1.14",
                labels,
                rate,
                base,
                emit=answers,
                at_least=float(iface.get("errors") or 0),
            )
            self.count(
                "ifOutErrors",
                "The number of outbound packets that could not be "
                "transmitted because of errors - 1.3.6.1.2.1.2.2.1.20",
                labels,
                rate / 20,
                rng.randint(0, 5),
                emit=answers,
            )
            if not answers:
                continue
            oper, changed = self.oper_status(iface, rng, boot)
            self.out.gauge(
                "ifAdminStatus",
                "The desired state of the interface - 1.3.6.1.2.1.2.2.1.7",
                labels,
                1.0 if iface["admin"] == "up" else 2.0,
            )
            self.out.gauge(
                "ifOperStatus",
                "The current operational state of the interface - 1.3.6.1.2.1.2.2.1.8",
                labels,
                float(oper),
            )
            self.out.gauge(
                "ifLastChange",
                "The value of sysUpTime at the time the interface "
                "entered its current operational state - 1.3.6.1.2.1.2.2.1.9",
                labels,
                float(int((changed - boot) * 100)),
            )

    def oper_status(
        self, iface: dict[str, Any], rng: random.Random, boot: float
    ) -> tuple[int, float]:
        """(ifOperStatus: 1 up, 2 down; when it last changed). A flapping link changes
        every 15 s, a failing optic every 40 s."""
        cond = iface.get("condition")
        period = {"flapping": 15.0, "physical_fault": 40.0}.get(cond or "")
        if period is not None:
            phase = int(self.now // period)
            return (1 if phase % 2 == 0 else 2), phase * period
        since = iface.get("condition_at") or (self.exporter.started - rng.randint(3000, 90000) * 60)
        since = max(float(since), boot + 60)
        up = iface["oper"] == "up" and iface["admin"] == "up"
        return (1 if up else 2), since

    # --- blackbox_exporter ---------------------------------------------------------------

    def probe(self, name: str, obj: dict[str, Any]) -> None:
        rng = _rng(name, "probe")
        if obj["kind"] == "vm":
            url = f"http://{name}/"
            cond = obj.get("condition")
            failing = cond == "vm_hung" or obj.get("power") != "on" or name in self.unreachable
            status, duration = (0, 5.0) if failing else (200, rng.uniform(0.01, 0.08))
            if cond == "memory_pressure" and not failing:
                duration = rng.uniform(1.5, 4.0)
        else:
            namespace, short = name.split("/", 1)
            url = f"http://{short}.{namespace}.svc:8080/healthz"
            cond = obj.get("condition")
            status, duration = 200, rng.uniform(0.01, 0.12)
            if cond == "bad_release":
                status, duration = 503, rng.uniform(0.002, 0.01)
            elif cond == "dependency_down":
                status, duration = 500, rng.uniform(0.05, 0.3)
            elif cond == "saturated":
                duration = rng.uniform(1.2, 3.8)
        target = {"job": "blackbox", "instance": url}
        self.up(target, True)
        self.out.gauge(
            "probe_success",
            "Displays whether or not the probe was a success",
            target,
            1.0 if 200 <= status < 300 else 0.0,
        )
        self.out.gauge("probe_http_status_code", "Response HTTP status code", target, float(status))
        self.out.gauge(
            "probe_duration_seconds",
            "Returns how long the probe took to complete in seconds",
            target,
            round(duration, 4),
        )


# --- serving -------------------------------------------------------------------------------


def serve(host: str, port: int, exporter: Exporter | None = None) -> ThreadingHTTPServer:
    """An HTTP server answering ``GET /metrics`` (and nothing else) with the exposition."""
    source = exporter if exporter is not None else Exporter()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404, "only /metrics is served here")
                return
            body = source.exposition()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # scrapes every second would drown the log

    return ThreadingHTTPServer((host, port), Handler)
