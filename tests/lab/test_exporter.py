"""The lab exporter speaks the exporters' dialect: every family with its exporter's labels,
counters that never go back, a staged condition that changes the series an operator would
look at, and the lab's own fix that changes them back. Conditions are staged and fixed
through the lab's MCP tools (control and platform servers, in-process), as a replay does."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import anyio
import pytest
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

from lab import control, engine, server
from lab.exporter import Exporter, serve
from lab.state import LabState

T0 = 1_800_000_000.0  # the exporter's clock in these tests: explicit, never the wall clock

CONTROL_TOOLS = {"set_condition", "inject_fault", "clear_faults"}

# Every family the exporter writes, and the exporter that defines it (docs/investigation.md).
FAMILIES = {
    "up": "prometheus",
    **dict.fromkeys(
        (
            "node_load1", "node_load5", "node_load15", "node_memory_MemTotal_bytes",
            "node_memory_MemAvailable_bytes", "node_memory_SwapTotal_bytes",
            "node_memory_SwapFree_bytes", "node_vmstat_pgmajfault",
            "node_filesystem_size_bytes", "node_filesystem_avail_bytes",
            "node_filesystem_files", "node_filesystem_files_free", "node_filesystem_readonly",
            "node_network_receive_packets", "node_network_receive_errs",
            "node_network_transmit_packets", "node_network_transmit_errs",
        ),
        "node_exporter",
    ),
    **dict.fromkeys(
        (
            "vmware_vm_power_state", "vmware_vm_num_cpu", "vmware_vm_memory_max",
            "vmware_vm_guest_tools_running_status", "vmware_vm_cpu_usage_average",
            "vmware_vm_cpu_ready_summation", "vmware_vm_mem_usage_average",
            "vmware_vm_mem_vmmemctl_average", "vmware_vm_mem_swapped_average",
        ),
        "vmware_exporter",
    ),
    **dict.fromkeys(
        (
            "kube_pod_container_status_restarts", "kube_pod_container_status_waiting",
            "kube_pod_container_status_waiting_reason",
            "kube_pod_container_status_last_terminated_reason",
            "kube_pod_container_resource_limits", "kube_pod_container_resource_requests",
            "kube_pod_container_status_last_terminated_exitcode", "kube_deployment_spec_replicas",
            "kube_deployment_status_replicas_available",
            "kube_deployment_status_replicas_updated", "kube_deployment_metadata_generation",
            "kube_deployment_status_observed_generation",
        ),
        "kube-state-metrics",
    ),
    **dict.fromkeys(
        (
            "kubelet_volume_stats_capacity_bytes", "kubelet_volume_stats_available_bytes",
            "kubelet_volume_stats_used_bytes", "kubelet_volume_stats_inodes",
            "kubelet_volume_stats_inodes_free", "kubelet_volume_stats_inodes_used",
            "prober_probe",
        ),
        "kubelet",
    ),
    **dict.fromkeys(
        (
            "container_cpu_usage_seconds", "container_cpu_cfs_periods",
            "container_cpu_cfs_throttled_periods",
        ),
        "cAdvisor",
    ),
    **dict.fromkeys(("openstack_nova_server_status", "openstack_nova_flavor"),
                    "openstack-exporter"),
    **dict.fromkeys(
        ("ifInErrors", "ifOutErrors", "ifAdminStatus", "ifOperStatus", "ifLastChange"),
        "snmp_exporter",
    ),
    **dict.fromkeys(
        ("probe_success", "probe_http_status_code", "probe_duration_seconds"),
        "blackbox_exporter",
    ),
}  # fmt: skip

# The labels each exporter sets (besides job and instance), by family name prefix.
LABELS = [
    ("node_filesystem_", "node", {"device", "fstype", "mountpoint"}),
    ("node_network_", "node", {"device"}),
    ("node_", "node", set()),
    ("vmware_vm_guest_tools", "vmware",
     {"vm_name", "host_name", "dc_name", "cluster_name", "tools_status"}),
    ("vmware_vm_", "vmware", {"vm_name", "host_name", "dc_name", "cluster_name"}),
    ("kube_pod_container_resource_", "kube-state-metrics",
     {"namespace", "pod", "container", "node", "resource", "unit"}),
    ("kube_pod_container_status_waiting_reason", "kube-state-metrics",
     {"namespace", "pod", "container", "reason"}),
    ("kube_pod_container_status_last_terminated_reason", "kube-state-metrics",
     {"namespace", "pod", "container", "reason"}),
    ("kube_pod_", "kube-state-metrics", {"namespace", "pod", "container"}),
    ("kube_deployment_", "kube-state-metrics", {"namespace", "deployment"}),
    ("kubelet_volume_stats_", "kubelet", {"namespace", "persistentvolumeclaim"}),
    ("prober_probe", "kubelet",
     {"metrics_path", "namespace", "pod", "container", "pod_uid", "probe_type", "result"}),
    ("container_cpu_", "kubelet",
     {"metrics_path", "namespace", "pod", "container", "id", "image", "name"}),
    ("openstack_nova_server_status", "openstack",
     {"id", "status", "name", "tenant_id", "user_id", "address_ipv4", "address_ipv6",
      "host_id", "hypervisor_hostname", "uuid", "availability_zone", "flavor_id",
      "instance_libvirt"}),
    ("openstack_nova_flavor", "openstack", {"id", "name", "vcpus", "ram", "disk", "is_public"}),
    ("if", "snmp", {"ifIndex", "ifName", "ifDescr", "ifAlias"}),
    ("probe_", "blackbox", set()),
]  # fmt: skip
INSTANCE = {
    "node": re.compile(r"^[a-z0-9-]+:9100$"),
    "kube-state-metrics": re.compile(r"^[a-z0-9.-]+:8080$"),
    "kubelet": re.compile(r"^k8s-node-\d\d:10250$"),
    "snmp": re.compile(r"^core-sw-\d\d$"),
    "blackbox": re.compile(r"^http://[a-z0-9.-]+(:8080)?/(healthz)?$"),
    "vmware": re.compile(r"^vcenter\.lab$"),
    "openstack": re.compile(r"^openstack-exporter:9180$"),
}


@pytest.fixture
def lab(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STATE_PATH", str(tmp_path / "lab.sqlite3"))
    return LabState(tmp_path / "lab.sqlite3")


def call(name: str, args: dict) -> dict:
    target = control.control if name in CONTROL_TOOLS else server.mcp

    async def go():
        async with Client(target) as client:
            return await client.call_tool(name, args)

    result = anyio.run(go)
    assert not result.is_error, result.content
    return result.structured_content


def stage(target: str, condition: str | None, interface: str | None = None) -> None:
    args = {"target": target, "condition": condition}
    if interface:
        args["interface"] = interface
    call("set_condition", args)


def fix(tool: str, key: str, **params) -> None:
    call(tool, {**params, "idempotency_key": key})


def parse(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def scrape(exporter: Exporter, now: float) -> dict[tuple[str, frozenset], float]:
    """Every sample of one scrape, by name (as exposed) and labels."""
    samples = {}
    for family in parse(exporter.exposition(now).decode()).values():
        for s in family.samples:
            # The parser names every counter sample <name>_total; IF-MIB's are exposed bare.
            name = family.name if family.name in ("ifInErrors", "ifOutErrors") else s.name
            samples[(name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: dict, metric: str, **labels: str) -> float | None:
    """The one sample of ``metric`` whose labels include ``labels`` (None if absent)."""
    found = [v for (n, ls), v in samples.items() if n == metric and set(labels.items()) <= ls]
    assert len(found) <= 1, (metric, labels, found)
    return found[0] if found else None


def test_every_family_has_its_exporters_name_type_and_labels(lab):
    # Stage what makes the conditional families appear (a waiting reason, a termination).
    stage("default/web-7d9f", "oom_killed")
    text = Exporter(lab, started=T0).exposition(T0).decode()
    families = parse(text)
    assert set(families) == set(FAMILIES)
    for name, family in families.items():
        assert family.samples, name
        if name == "up":
            for sample in family.samples:
                assert INSTANCE[sample.labels["job"]].match(sample.labels["instance"]), sample
            continue
        _prefix, job, extra = next(entry for entry in LABELS if name.startswith(entry[0]))
        for sample in family.samples:
            assert set(sample.labels) == {"job", "instance", *extra}, (name, sample.labels)
            assert sample.labels["job"] == job, sample
            assert INSTANCE[job].match(sample.labels["instance"]), sample
    # Types as the exporters declare them; IF-MIB's counters keep their MIB names.
    assert families["ifInErrors"].type == "counter"
    assert "# TYPE ifInErrors counter" in text and "ifInErrors_total" not in text
    assert re.search(r"^ifInErrors\{", text, re.MULTILINE)
    assert families["kube_pod_container_status_restarts"].type == "counter"
    assert {s.name for s in families["kube_pod_container_status_restarts"].samples} == {
        "kube_pod_container_status_restarts_total"
    }
    assert families["node_vmstat_pgmajfault"].type == "unknown"  # node_exporter: untyped
    assert families["node_memory_MemAvailable_bytes"].type == "gauge"
    # One sample per object: ten VMs and three instances run node_exporter, six switches
    # have four interfaces each, five pods, two deployments.
    assert len(families["node_load1"].samples) == 13
    assert len(families["ifOperStatus"].samples) == 24
    assert len(families["kube_pod_container_status_waiting"].samples) == 5
    assert len(families["kube_deployment_spec_replicas"].samples) == 2


def test_counters_never_go_back_and_their_rate_follows_the_condition(lab):
    exporter = Exporter(lab, started=T0)
    # Scraped every minute: each scrape counts the minute before it at the rate the state
    # sets when it is read (the scrape interval is the granularity, as for a real exporter).
    scrapes = [scrape(exporter, T0), scrape(exporter, T0 + 60)]
    stage("core-sw-01", "physical_fault", "Gi0/1")
    stage("default/web-7d9f", "crash_looping")
    scrapes += [scrape(exporter, T0 + 120), scrape(exporter, T0 + 180)]
    stage("core-sw-01", None, "Gi0/1")  # the optic replaced
    fix("restart_pod", "k2", pod="default/web-7d9f")
    scrapes += [scrape(exporter, T0 + 240), scrape(exporter, T0 + 300)]

    counters = {"ifInErrors", "ifOutErrors", "node_vmstat_pgmajfault"}
    for before, after in itertools.pairwise(scrapes):
        for key, old in before.items():
            if key[0] in counters or key[0].endswith("_total"):
                assert after[key] >= old, key

    def per_minute(name, start, **labels):
        return value(scrapes[start + 1], name, **labels) - value(scrapes[start], name, **labels)

    gi01 = {"instance": "core-sw-01", "ifName": "Gi0/1"}
    gi02 = {"instance": "core-sw-01", "ifName": "Gi0/2"}
    pod = {"pod": "web-7d9f"}
    restarts = "kube_pod_container_status_restarts_total"
    # Before: nothing counts; staged: 4 errors a second, a restart every 30 s; fixed: calm.
    assert per_minute("ifInErrors", 0, **gi01) == 0
    assert per_minute("ifInErrors", 2, **gi01) == pytest.approx(240, abs=1)
    assert per_minute("ifInErrors", 4, **gi01) == 0
    assert per_minute("ifInErrors", 2, **gi02) == 0  # the neighbour never counted
    assert per_minute(restarts, 0, **pod) == 0
    assert per_minute(restarts, 2, **pod) == pytest.approx(2, abs=1)
    assert per_minute(restarts, 4, **pod) == 0
    # SNMP counters are never reset by the fix: the count stays where it got to.
    assert value(scrapes[5], "ifInErrors", **gi01) >= value(scrapes[3], "ifInErrors", **gi01)


def test_errors_that_stopped_show_as_a_large_total_not_growing(lab):
    exporter = Exporter(lab, started=T0)
    gi02 = {"instance": "core-sw-01", "ifName": "Gi0/2"}
    before = scrape(exporter, T0)
    # The lab's interface_errors: a large error total whose last error is long past.
    stage("core-sw-01", "interface_errors", "Gi0/2")
    staged = [scrape(exporter, T0 + 60), scrape(exporter, T0 + 120)]
    assert value(before, "ifInErrors", **gi02) < 1000
    assert value(staged[0], "ifInErrors", **gi02) >= 1500
    assert value(staged[1], "ifInErrors", **gi02) == value(staged[0], "ifInErrors", **gi02)
    # Clearing the switch's counters does not clear IF-MIB's: the total stays, not growing.
    fix("clear_interface_errors", "k1", device="core-sw-01", interface="Gi0/2")
    after = scrape(exporter, T0 + 180)
    assert value(after, "ifInErrors", **gi02) == value(staged[1], "ifInErrors", **gi02)


def test_the_history_is_the_past_as_openmetrics_and_the_live_series_continue_it(lab):
    exporter = Exporter(lab, started=T0)
    stage("core-sw-01", "physical_fault", "Gi0/1")
    text = exporter.history(600, 30, end=T0).decode()
    assert text.endswith("# EOF\n")
    gi01 = ('ifName="Gi0/1"', 'instance="core-sw-01"')
    lines = [
        ln
        for ln in text.splitlines()
        if ln.startswith("ifInErrors{") and all(part in ln for part in gi01)
    ]
    points = [(float(ln.rsplit(" ", 2)[2]), float(ln.rsplit(" ", 2)[1])) for ln in lines]
    assert [t for t, _ in points] == [T0 - 600 + 30 * n for n in range(21)]
    # 4 errors a second, all along the past; the live scrape goes on from where it ended.
    assert points[-1][1] - points[0][1] == pytest.approx(4 * 600, abs=2)
    live = scrape(exporter, T0 + 30)
    assert value(live, "ifInErrors", instance="core-sw-01", ifName="Gi0/1") == pytest.approx(
        points[-1][1] + 4 * 30, abs=2
    )
    # Each family's samples together, in time order (OpenMetrics, for promtool's backfill).
    names = [ln.split("{", 1)[0] for ln in text.splitlines() if not ln.startswith("#")]
    assert names == sorted(names)


def test_a_hung_vm_stops_answering_and_a_restart_brings_it_back(lab):
    exporter = Exporter(lab, started=T0)
    stage("prod-web-03", "vm_hung")
    hung = scrape(exporter, T0)
    assert value(hung, "up", job="node", instance="prod-web-03:9100") == 0
    assert value(hung, "node_load1", instance="prod-web-03:9100") is None  # no scrape, no series
    assert value(hung, "vmware_vm_power_state", vm_name="prod-web-03") == 1
    assert value(hung, "vmware_vm_guest_tools_running_status", vm_name="prod-web-03",
                 tools_status="toolsNotRunning") == 1  # fmt: skip
    assert value(hung, "probe_success", instance="http://prod-web-03/") == 0
    # The neighbour is untouched.
    assert value(hung, "up", job="node", instance="prod-web-04:9100") == 1
    assert value(hung, "vmware_vm_guest_tools_running_status", vm_name="prod-web-04",
                 tools_status="toolsOk") == 1  # fmt: skip
    fix("restart_vm", "k1", vm="prod-web-03")
    back = scrape(exporter, T0 + 30)
    assert value(back, "up", job="node", instance="prod-web-03:9100") == 1
    assert value(back, "node_load1", instance="prod-web-03:9100") is not None
    assert value(back, "vmware_vm_guest_tools_running_status", vm_name="prod-web-03",
                 tools_status="toolsOk") == 1  # fmt: skip
    assert value(back, "probe_success", instance="http://prod-web-03/") == 1


def test_memory_pressure_shows_in_node_and_vsphere_series_until_memory_is_added(lab):
    exporter = Exporter(lab, started=T0)
    healthy = scrape(exporter, T0)
    stage("prod-web-05", "memory_pressure")
    pressed = scrape(exporter, T0 + 60)
    node = {"instance": "prod-web-05:9100"}

    def available(samples):
        return value(samples, "node_memory_MemAvailable_bytes", **node) / value(
            samples, "node_memory_MemTotal_bytes", **node
        )

    assert available(healthy) > 0.3
    assert available(pressed) < 0.05
    assert value(pressed, "vmware_vm_mem_vmmemctl_average", vm_name="prod-web-05") > 0
    assert value(healthy, "vmware_vm_mem_vmmemctl_average", vm_name="prod-web-05") == 0
    faults = value(pressed, "node_vmstat_pgmajfault", **node) - value(
        healthy, "node_vmstat_pgmajfault", **node
    )
    assert faults / 60 == pytest.approx(900, rel=0.01)
    fix("increase_memory", "k1", vm="prod-web-05", memory_gb=16)
    relieved = scrape(exporter, T0 + 120)
    assert available(relieved) > 0.3
    assert value(relieved, "node_memory_MemTotal_bytes", **node) == 16 * 1024**3


def test_a_full_volume_keeps_filling_until_it_is_expanded(lab):
    exporter = Exporter(lab, started=T0)
    stage("vol-data-01", "volume_full")  # attached to prod-db-01, mounted on /data
    stage("vol-data-02", "volume_full")  # no VM mounts it: a PersistentVolumeClaim
    import time

    now = time.time()  # the staging time is the lab's own clock; read relative to it
    data = {"instance": "prod-db-01:9100", "mountpoint": "/data"}
    claim = {"persistentvolumeclaim": "vol-data-02", "namespace": "default"}

    def free(samples):
        fs = value(samples, "node_filesystem_avail_bytes", **data) / value(
            samples, "node_filesystem_size_bytes", **data
        )
        pvc = value(samples, "kubelet_volume_stats_available_bytes", **claim) / value(
            samples, "kubelet_volume_stats_capacity_bytes", **claim
        )
        return fs, pvc

    first, later = scrape(exporter, now), scrape(exporter, now + 2 * 3600)
    assert all(share < 0.011 for share in free(first))
    assert all(b < a for a, b in zip(free(first), free(later), strict=True))  # filling
    root = value(first, "node_filesystem_avail_bytes", instance="prod-db-01:9100", mountpoint="/")
    assert root > 0
    fix("expand_volume", "k1", volume="vol-data-01", size_gb=4096)
    fix("expand_volume", "k2", volume="vol-data-02", size_gb=8192)
    expanded = scrape(exporter, now + 3 * 3600)
    assert all(share > 0.5 for share in free(expanded))


def test_a_bad_release_empties_the_deployment_and_a_rollback_restores_it(lab):
    exporter = Exporter(lab, started=T0)
    before = scrape(exporter, T0)
    dep = {"deployment": "web", "namespace": "default"}
    generation = value(before, "kube_deployment_metadata_generation", **dep)
    stage("default/web", "bad_release")
    bad = scrape(exporter, T0 + 60)
    assert value(bad, "kube_deployment_spec_replicas", **dep) == 3
    assert value(bad, "kube_deployment_status_replicas_available", **dep) == 0
    url = "http://web.default.svc:8080/healthz"
    assert value(bad, "probe_success", instance=url) == 0
    assert value(bad, "probe_http_status_code", instance=url) == 503
    for pod in ("web-7d9f", "web-5c4b", "web-9a1e"):
        assert value(bad, "kube_pod_container_status_waiting_reason", pod=pod,
                     reason="CrashLoopBackOff") == 1  # fmt: skip
    assert value(bad, "kube_pod_container_status_waiting_reason", pod="api-3f2a") is None
    fix("rollback_deployment", "k1", deployment="default/web")
    back = scrape(exporter, T0 + 120)
    assert value(back, "kube_deployment_status_replicas_available", **dep) == 3
    assert value(back, "probe_success", instance=url) == 1
    assert value(back, "kube_pod_container_status_waiting_reason", pod="web-7d9f") is None
    assert value(back, "kube_deployment_metadata_generation", **dep) == generation + 1
    assert value(back, "kube_deployment_status_observed_generation", **dep) == generation + 1


def test_switch_ports_and_an_unreachable_switch(lab):
    exporter = Exporter(lab, started=T0)
    stage("core-sw-02", "err_disabled", "Gi0/3")
    call("inject_fault", {"kind": "unreachable", "target": "core-sw-04"})
    port = {"instance": "core-sw-02", "ifName": "Gi0/3"}
    down = scrape(exporter, T0)
    assert value(down, "ifOperStatus", **port) == 2
    assert value(down, "ifAdminStatus", **port) == 1
    assert value(down, "ifOperStatus", instance="core-sw-02", ifName="Gi0/2") == 1
    assert value(down, "up", job="snmp", instance="core-sw-04") == 0
    assert not [k for k in down if dict(k[1]).get("instance") == "core-sw-04" and k[0] != "up"]
    fix("enable_port", "k1", device="core-sw-02", interface="Gi0/3")
    call("clear_faults", {"target": "core-sw-04"})
    up = scrape(exporter, T0 + 60)
    assert value(up, "ifOperStatus", **port) == 1
    assert value(up, "up", job="snmp", instance="core-sw-04") == 1
    assert value(up, "ifOperStatus", instance="core-sw-04", ifName="Gi0/1") == 1


def test_the_exporter_serves_metrics_over_http_and_once_on_stdout(lab, tmp_path):
    httpd = serve("127.0.0.1", 0, Exporter(lab))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_port}"
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert "ifInErrors" in parse(response.read().decode())
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/mcp", timeout=10)
        assert refused.value.code == 404
    finally:
        httpd.shutdown()
        httpd.server_close()
    once = subprocess.run(
        [sys.executable, "-m", "lab", "exporter", "--once"],
        env={"LAB_STATE_PATH": str(tmp_path / "once.sqlite3"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # A healthy lab: no container waits, so that family has no sample and is not written.
    assert set(parse(once.stdout)) == set(FAMILIES) - {"kube_pod_container_status_waiting_reason"}


# Which series belong to a staged object, and the object each kind is staged on.
SAMPLE_TARGET = {
    "vm": ("prod-web-02", None),
    "instance": ("app-instance-02", None),
    "pod": ("default/api-3f2a", None),
    "deployment": ("default/api", None),
    "interface": ("core-sw-03", "Gi0/2"),
    "volume": ("vol-data-02", None),
}
# No standard exporter shows a storage array's snapshot space: the investigation's
# get_volume does, Prometheus does not.
INVISIBLE = {"snapshot_bloat"}


def belongs(kind: str, labels: dict[str, str]) -> bool:
    name, interface = SAMPLE_TARGET[kind]
    short = name.split("/", 1)[-1]
    return {
        "vm": labels.get("instance") in (f"{name}:9100", f"http://{name}/")
        or labels.get("vm_name") == name,
        "instance": labels.get("instance") == f"{name}:9100"
        or (labels.get("job") == "openstack" and labels.get("name") == name),
        "pod": labels.get("pod") == short,
        "deployment": labels.get("deployment") == short
        or labels.get("pod", "").startswith(f"{short}-")
        or labels.get("instance") == f"http://{short}.default.svc:8080/healthz",
        "interface": labels.get("instance") == name and labels.get("ifName") == interface,
        "volume": labels.get("persistentvolumeclaim") == name,
    }[kind]


def of(samples: dict, kind: str) -> dict:
    return {key: v for key, v in samples.items() if belongs(kind, dict(key[1]))}


@pytest.mark.parametrize(
    ("kind", "condition"),
    [(k, c) for k, cs in engine.CONDITIONS_BY_KIND.items() for c in cs],
)
def test_every_condition_changes_its_objects_series_and_no_other(lab, kind, condition):
    healthy = scrape(Exporter(lab, started=T0), T0)
    name, interface = SAMPLE_TARGET[kind]
    stage(name, condition, interface)
    staged = scrape(Exporter(lab, started=T0), T0)
    if condition in INVISIBLE:
        assert staged == healthy
        return
    assert of(staged, kind) != of(healthy, kind), condition
    # Everything else reads as before (a bad release's pods are the deployment's own).
    rest = {key for key in set(staged) | set(healthy) if not belongs(kind, dict(key[1]))}
    assert {k: staged.get(k) for k in rest} == {k: healthy.get(k) for k in rest}


def test_a_wedged_container_fails_liveness_a_bad_configuration_exits_on_its_own(lab):
    exporter = Exporter(lab, started=T0)
    stage("default/web-7d9f", "crash_looping")
    stage("default/api-8b7c", "config_error")
    scrapes = [scrape(exporter, T0), scrape(exporter, T0 + 60)]

    def liveness_failed_per_minute(pod):
        labels = {"pod": pod, "probe_type": "Liveness", "result": "failed"}
        name = "prober_probe_total"
        return value(scrapes[1], name, **labels) - value(scrapes[0], name, **labels)

    exit_code = "kube_pod_container_status_last_terminated_exitcode"
    # Killed by the kubelet for its failed probes: 137 (SIGKILL), ending in Error.
    assert liveness_failed_per_minute("web-7d9f") == pytest.approx(6, abs=1)
    assert value(scrapes[1], exit_code, pod="web-7d9f") == 137
    assert (
        value(scrapes[1], "kube_pod_container_status_last_terminated_reason", pod="web-7d9f") == 1
    )
    # A bad configuration exits 1 before its probes run: no failed liveness probe.
    assert liveness_failed_per_minute("api-8b7c") == 0
    assert value(scrapes[1], exit_code, pod="api-8b7c") == 1
    # A healthy neighbour passes its probes and has no termination to report.
    assert liveness_failed_per_minute("web-9a1e") == 0
    assert value(scrapes[1], exit_code, pod="web-9a1e") in (None, 0)


@pytest.mark.parametrize(
    ("condition", "busy"), [("saturated", True), ("dependency_down", False), (None, False)]
)
def test_a_deployment_short_of_capacity_runs_its_containers_at_their_cpu_limit(
    lab, condition, busy
):
    exporter = Exporter(lab, started=T0)
    stage("default/web", condition)
    scrapes = [scrape(exporter, T0), scrape(exporter, T0 + 60)]

    def per_second(name):
        keys = [k for k in scrapes[1] if k[0] == name and dict(k[1])["pod"].startswith("web-")]
        assert keys
        return sum(scrapes[1][k] - scrapes[0][k] for k in keys) / 60

    limits = sum(
        v
        for (n, ls), v in scrapes[1].items()
        if n == "kube_pod_container_resource_limits"
        and dict(ls)["pod"].startswith("web-")
        and dict(ls)["resource"] == "cpu"
    )
    used = per_second("container_cpu_usage_seconds_total") / limits
    throttled = per_second("container_cpu_cfs_throttled_periods_total") / per_second(
        "container_cpu_cfs_periods_total"
    )
    if busy:
        assert used >= 0.9 and throttled >= 0.25
    else:
        assert used < 0.6 and throttled < 0.1


def test_nova_reports_the_servers_status_and_flavor_not_its_guests_health(lab):
    stage("app-instance-01", "instance_hung")
    stage("app-instance-02", "instance_error")
    samples = scrape(Exporter(lab, started=T0), T0)
    status = "openstack_nova_server_status"
    # openstack-exporter's numbers: ACTIVE 0, ERROR 4; a hung guest is ACTIVE to nova.
    assert value(samples, status, name="app-instance-01", status="ACTIVE") == 0
    assert value(samples, status, name="app-instance-02", status="ERROR") == 4
    assert value(samples, "up", instance="app-instance-01:9100") == 0
    flavor_id = next(
        dict(ls)["flavor_id"]
        for (n, ls) in samples
        if n == status and dict(ls)["name"] == "app-instance-03"
    )
    assert value(samples, "openstack_nova_flavor", id=flavor_id, name="m1.medium", vcpus="2")
