"""Connector profiles (pure): the lab's answers and Prometheus' answers read as the same
observations, units converted, PromQL built from names with every label value escaped, and
a bad profile refused naming the entry and field."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab import engine, signals
from lab.inventory import default_hosts, default_inventory
from remediation.connectors.rules.lab_profile import LAB_PROFILE
from remediation.connectors.rules.profiles import (
    BATCH_LABEL,
    OBSERVATIONS,
    batch_query,
    label_values,
    observations_of,
    owner_of,
    profile_errors,
    promql_string,
    regex_literal,
    render_query,
    split_batch,
)
from remediation.connectors.rules.prometheus_profile import PROMETHEUS_PROFILE, PROMETHEUS_TOOLS

LAB_LISTED = {
    "vm": ["get_vm", "get_vm_metrics", "get_vm_events"],
    "host": ["get_host"],
    "pod": ["get_pod", "get_pod_logs"],
    "deployment": ["get_deployment"],
    "device": ["get_device"],
    "interface": ["get_interface"],
    "volume": ["get_volume"],
    "instance": ["get_instance"],
}
READABLE = frozenset({t for tools in LAB_LISTED.values() for t in tools} | set(PROMETHEUS_TOOLS))


def world(**conditions):
    w = {"objects": default_inventory(), "hosts": default_hosts()}
    for target, condition in conditions.items():
        engine.set_condition(w, target, condition)
    return w


def test_the_shipped_profiles_are_valid_and_read_only_known_observations():
    assert profile_errors(LAB_PROFILE, LAB_LISTED, READABLE) == []
    assert profile_errors(PROMETHEUS_PROFILE, {}, READABLE) == []
    for profile in (LAB_PROFILE, PROMETHEUS_PROFILE):
        assert {e["observation"] for e in profile["observations"]} <= set(OBSERVATIONS)


def test_the_labs_answers_map_to_observations_with_units_converted():
    w = world(**{"default/web-7d9f": "oom_killed"})
    answers = {"get_pod": signals.pod_summary(w, "default/web-7d9f")}
    mapped = observations_of(LAB_PROFILE["observations"], answers, "pod")
    assert mapped.values["pod.last_terminated_reason"] == "OOMKilled"
    assert mapped.values["pod.memory_limit"] == pytest.approx(
        answers["get_pod"]["memory_limit_mib"]
    )
    assert mapped.values["pod.owner"] == "default/web"
    # A tool not called for this object maps nothing, and other kinds' entries are ignored.
    assert "pod.log_lines" not in mapped.values and "vm.up" not in mapped.values


def test_a_prometheus_answer_maps_values_and_labels_and_converts_rates():
    answers = {
        "execute_query interface.in_errors_rate": {
            "resultType": "vector",
            "result": [{"metric": {}, "value": [1765000000.0, "20"]}],
        },
        "execute_query interface.oper_status": {
            "resultType": "vector",
            "result": [{"metric": {}, "value": [1765000000.0, "2"]}],
        },
        "execute_query interface.flaps": {"resultType": "vector", "result": []},
    }
    mapped = observations_of(PROMETHEUS_PROFILE["observations"], answers, "interface")
    assert mapped.values["interface.in_errors_rate"] == pytest.approx(1200.0)  # 20/s -> /min
    assert mapped.values["interface.oper_status"] == "down"
    assert mapped.missing == ("interface.flaps",)  # asked, no series
    reason = {
        "execute_query pod.last_terminated_reason": {
            "resultType": "vector",
            "result": [{"metric": {"reason": "OOMKilled"}, "value": [1, "1"]}],
        }
    }
    seen = observations_of(PROMETHEUS_PROFILE["observations"], reason, "pod")
    assert seen.values == {"pod.last_terminated_reason": "OOMKilled"}


def test_an_answer_of_the_wrong_type_is_no_reading():
    answers = {"get_vm": {"guest_heartbeat": 7, "cpus": "many", "memory_gb": float("nan")}}
    mapped = observations_of(LAB_PROFILE["observations"], answers, "vm")
    assert "vm.guest_heartbeat" not in mapped.values
    assert "vm.cpus" not in mapped.values and "vm.memory" not in mapped.values
    assert {"vm.guest_heartbeat", "vm.cpus", "vm.memory"} <= set(mapped.missing)


def test_names_become_the_exporters_label_values():
    assert label_values("vm", "prod-web-01.example.com")["node_instance"] == "prod-web-01:9100"
    assert label_values("pod", "payments/api-7d9f8b6c5d-x2x9z") == {
        "name": "payments/api-7d9f8b6c5d-x2x9z",
        "namespace": "payments",
        "pod": "api-7d9f8b6c5d-x2x9z",
    }
    assert label_values("volume", "vol-data-02")["namespace"] == "default"
    assert label_values("interface", "core-sw-01 Gi0/1")["interface"] == "Gi0/1"
    assert owner_of("pod", "payments/api-7d9f8b6c5d-x2x9z") == ("deployment", "payments/api")
    assert owner_of("vm", "prod-web-01") is None


def test_a_query_is_built_with_quoted_label_values():
    query = render_query(
        "sum(rate(kube_pod_container_status_restarts_total{namespace=$namespace, pod=$pod}[5m]))",
        "pod",
        "default/web-7d9f",
    )
    assert query == (
        'sum(rate(kube_pod_container_status_restarts_total{namespace="default", '
        'pod="web-7d9f"}[5m]))'
    )


INJECTIONS = [
    'web"} or vector(1) or up{x="',
    'x", job=~".+',
    'a\\"} or on() vector(1) #',
    "line\nbreak} or vector(0)",
]


def _literals(query: str) -> list[str]:
    """The string literals of a query, as PromQL's lexer reads double-quoted strings."""
    return re.findall(r'"((?:[^"\\]|\\.)*)"', query)


_ESC = {"n": "\n", "t": "\t", "r": "\r"}


def _decode(inner: str) -> str:
    """A literal's value, as PromQL unescapes it."""
    return re.sub(
        r"\\(x[0-9a-f]{2}|.)",
        lambda m: chr(int(m[1][1:], 16)) if m[1].startswith("x") else _ESC.get(m[1], m[1]),
        inner,
    )


@pytest.mark.parametrize("name", INJECTIONS)
def test_an_attacker_written_name_stays_one_label_value(name):
    template = "max(kube_pod_container_status_waiting{namespace=$namespace, pod=$pod})"
    query = render_query(template, "pod", f"default/{name}")
    # Outside its string literals the query is exactly the template's shape.
    shape = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    assert shape == 'max(kube_pod_container_status_waiting{namespace="", pod=""})'
    assert [_decode(v) for v in _literals(query)] == ["default", name]
    assert "\n" not in query


@given(st.text(max_size=60))
def test_any_string_is_one_literal_that_reads_back_as_itself(value):
    literal = promql_string(value)
    assert literal.startswith('"') and literal.endswith('"')
    inner = literal[1:-1]
    assert _literals(literal) == [inner]
    assert all(ord(c) >= 0x20 for c in inner)
    assert _decode(inner) == value


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"observation": "vm.nonsense", "tool": "get_vm", "path": "x", "unit": "text"},
         "observations[0].observation"),
        ({"observation": "vm.guest_heartbeat", "tool": "get_vm", "path": "a..b", "unit": "text"},
         "observations[0] (vm.guest_heartbeat).path"),
        ({"observation": "vm.memory_used_pct", "tool": "get_vm_metrics", "path": "m",
          "unit": "furlongs"}, "observations[0] (vm.memory_used_pct).unit"),
        ({"observation": "vm.memory_used_pct", "tool": "get_vm_metrics", "path": "m",
          "unit": "seconds"}, "observations[0] (vm.memory_used_pct).unit"),
        ({"observation": "vm.up", "tool": "restart_vm", "path": "x", "unit": "bool"},
         "observations[0] (vm.up).tool"),
        ({"observation": "pod.restarts_rate", "tool": "execute_query", "args": {"query": "{query}"},
          "query": "rate(x{pod=$vm}[5m])", "path": "result.0.value.1", "unit": "per_second"},
         "observations[0] (pod.restarts_rate).query"),
        ({"observation": "pod.restarts_rate", "tool": "execute_query", "args": {"q": "{name}"},
          "query": "rate(x{pod=$pod}[5m])", "path": "result.0.value.1", "unit": "per_second"},
         "observations[0] (pod.restarts_rate).args"),
        ({"observation": "pod.restarts_rate", "tool": "reset_lab", "args": {"query": "{query}"},
          "query": "rate(x{pod=$pod}[5m])", "path": "result.0.value.1", "unit": "per_second"},
         "observations[0] (pod.restarts_rate).tool"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_refused_naming_its_field(entry, field):
    problems = profile_errors({"observations": [entry]}, LAB_LISTED, READABLE)
    assert problems and problems[0].startswith(field + ":"), problems


# The standard series every profile entry reads, by exporter (docs/investigation.md).
STANDARD = {
    "node_exporter": ("up{", "node_load1", "node_memory_MemAvailable_bytes",
                      "node_memory_MemTotal_bytes", "node_memory_SwapFree_bytes",
                      "node_vmstat_pgmajfault", "node_filesystem_avail_bytes",
                      "node_filesystem_size_bytes", "node_filesystem_files_free",
                      "node_filesystem_files", "node_network_receive_errs_total",
                      "node_network_transmit_errs_total"),
    "kube-state-metrics": ("kube_pod_container_status_restarts_total",
                           "kube_pod_container_status_waiting_reason",
                           "kube_pod_container_status_last_terminated_reason",
                           "kube_deployment_spec_replicas",
                           "kube_deployment_status_replicas_available",
                           "kube_deployment_metadata_generation",
                           "kube_pod_container_resource_limits",
                           "kube_pod_container_resource_requests",
                           "kube_pod_container_status_last_terminated_exitcode"),
    "kubelet": ("kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes",
                "kubelet_volume_stats_inodes_free", "kubelet_volume_stats_inodes",
                'prober_probe_total{', 'probe_type="Liveness"', 'result="failed"'),
    "cAdvisor": ("container_cpu_usage_seconds_total", "container_cpu_cfs_periods_total",
                 "container_cpu_cfs_throttled_periods_total"),
    "openstack-exporter": ("openstack_nova_server_status", "openstack_nova_flavor"),
    "snmp_exporter": ("ifInErrors", "ifOutErrors", "ifOperStatus", "ifAdminStatus",
                      "ifLastChange"),
    "blackbox_exporter": ("probe_success", "probe_http_status_code", "probe_duration_seconds"),
    "vmware_exporter": ("vmware_vm_power_state", "vmware_vm_guest_tools_running_status",
                        "vmware_vm_mem_vmmemctl_average", "vmware_vm_mem_swapped_average"),
}  # fmt: skip


def test_the_prometheus_profile_reads_every_standard_series():
    queries = " ".join(e["query"] for e in PROMETHEUS_PROFILE["observations"])
    missing = [s for series in STANDARD.values() for s in series if s not in queries]
    assert not missing
    assert not profile_errors(PROMETHEUS_PROFILE, {}, frozenset(PROMETHEUS_TOOLS))


def test_rates_are_over_real_windows():
    for entry in PROMETHEUS_PROFILE["observations"]:
        for window in re.findall(r"(?:rate|changes|deriv)\([^\[]*\[(\w+)", entry["query"]):
            assert window in ("5m", "1h"), entry


def test_the_new_entries_read_filesystems_network_errors_and_the_error_total():
    entries = {e["observation"]: e for e in PROMETHEUS_PROFILE["observations"]}
    for kind in ("vm", "instance"):
        for what in ("filesystem_used_pct", "filesystem_inodes_used_pct", "network_errors_rate"):
            assert f"{kind}.{what}" in entries
    answer = {"resultType": "vector", "result": [{"metric": {}, "value": [0, "0.5"]}]}
    seen = observations_of(
        [entries["vm.network_errors_rate"], entries["interface.in_errors_total"]],
        {"execute_query vm.network_errors_rate": answer},
        "vm",
    )
    assert seen.values == {"vm.network_errors_rate": 30.0}  # 0.5/s is 30 a minute
    query = render_query(entries["vm.filesystem_used_pct"]["query"], "vm", "prod-db-01")
    assert 'instance=~"prod\\\\-db\\\\-01(\\\\..+)?:9100"' in query
    assert 'fstype!~"tmpfs' in query


@pytest.mark.parametrize(
    "name", ["prod-web-01", "prod-web-01.corp.example.com", "a.b", "x(y)|z*", "é ü"]
)
def test_a_host_pattern_matches_its_short_name_and_fqdns_and_nothing_else(name):
    host = label_values("vm", name)["host"]
    pattern = label_values("vm", name)["host_re"]
    if host.isascii():
        assert re.fullmatch(pattern, host)
        assert re.fullmatch(pattern, host + ".lab.internal")
        assert not re.fullmatch(pattern, host + "0")
        assert not re.fullmatch(pattern, "x" + host)
    assert regex_literal("a-b.c") == "a\\-b\\.c"
    assert regex_literal("é\n") == "\\x{e9}\\x{a}"


@pytest.mark.parametrize("name", INJECTIONS)
def test_an_attacker_written_host_stays_one_label_value(name):
    query = render_query("max(up{instance=~$node_instance_re})", "vm", name)
    shape = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    assert shape == 'max(up{instance=~""})'
    assert "\n" not in query


def test_many_queries_are_asked_as_one_and_split_back():
    queries = ['max(up{job="node"})', 'kube_deployment_spec_replicas{namespace="default"}']
    combined = batch_query(queries)
    assert combined == (
        f'label_replace((max(up{{job="node"}})), "{BATCH_LABEL}", "0", "", "") or '
        f'label_replace((kube_deployment_spec_replicas{{namespace="default"}}), '
        f'"{BATCH_LABEL}", "1", "", "")'
    )
    answer = {
        "resultType": "vector",
        "result": [
            {"metric": {BATCH_LABEL: "1", "deployment": "web"}, "value": [1, "3"]},
            {"metric": {BATCH_LABEL: "0"}, "value": [1, "1"]},
            {"metric": {BATCH_LABEL: "1", "deployment": "api"}, "value": [1, "2"]},
        ],
    }
    first, second = split_batch(answer, 2)
    assert first == {"resultType": "vector", "result": [{"metric": {}, "value": [1, "1"]}]}
    assert [s["metric"] for s in second["result"]] == [{"deployment": "web"}, {"deployment": "api"}]
    # An empty part is an empty answer: that query's object has no series.
    assert (
        split_batch({"resultType": "vector", "result": []}, 2)
        == [{"resultType": "vector", "result": []}] * 2
    )


@pytest.mark.parametrize(
    "answer",
    [
        "Error executing tool: bad_data",
        {"resultType": "scalar", "result": [1, "1"]},
        {"resultType": "vector", "result": [{"metric": {}, "value": [1, "1"]}]},  # untagged
        {"resultType": "vector", "result": [{"metric": {BATCH_LABEL: "7"}, "value": [1, "1"]}]},
        {"resultType": "vector", "result": "x"},
    ],
)
def test_an_answer_that_is_not_a_combined_one_is_not_split(answer):
    assert split_batch(answer, 2) is None


@pytest.mark.parametrize(
    ("pod", "matches"),
    [
        ("web-7d9f", True),
        ("web-7d9f8b6c5d-x2x9z", True),
        ("web-api-7d9f8", False),  # another deployment, web-api: its hash is not "api"
        ("webx-7d9f", False),
        ("web", False),
        ("api-7d9f", False),
    ],
)
def test_a_deployments_pods_are_its_name_and_the_controllers_suffixes(pod, matches):
    pattern = label_values("deployment", "default/web")["pods_re"]
    assert bool(re.fullmatch(pattern, pod)) is matches
    query = render_query("sum(x{pod=~$pods_re})", "deployment", "default/web")
    assert query == 'sum(x{pod=~"web-[a-z0-9]{4,10}(-[a-z0-9]{5})?"})'


@pytest.mark.parametrize("name", INJECTIONS)
def test_an_attacker_written_deployment_stays_one_pod_pattern(name):
    query = render_query("sum(x{pod=~$pods_re})", "deployment", f"default/{name}")
    assert re.sub(r'"(?:[^"\\]|\\.)*"', '""', query) == 'sum(x{pod=~""})'


def test_a_vm_is_a_host_vcenter_knows_and_an_instance_is_read_with_novas_series():
    entries = {e["observation"]: e["query"] for e in PROMETHEUS_PROFILE["observations"]}
    assert "vmware_vm_power_state" in entries["vm.up"]
    assert "openstack_nova_server_status" in entries["instance.status"]
    assert entries["instance.flavor"] == entries["instance.vcpus"]
    rendered = render_query(entries["instance.flavor"], "instance", "app-instance-01")
    assert 'name=~"app\\\\-instance\\\\-01(\\\\..+)?"' in rendered
    assert '"$1"' in rendered  # label_replace's group reference is not a placeholder
