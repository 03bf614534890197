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
    OBSERVATIONS,
    label_values,
    observations_of,
    owner_of,
    profile_errors,
    promql_string,
    render_query,
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
