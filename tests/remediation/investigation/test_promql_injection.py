"""An alert's labels and a ticket's text are untrusted: whatever they name, the PromQL the
investigation sends Prometheus has the profile's shape, the name only ever one escaped
label value."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from remediation.connectors import registry
from remediation.connectors.mcp import ToolRefused
from remediation.connectors.rules.profiles import render_query
from remediation.connectors.rules.prometheus_profile import PROMETHEUS_PROFILE
from remediation.investigation.services import ticket_investigate

LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
EVIL = 'web"} or vector(1) or up{x="'


class RecordingPrometheus:
    """Answers every query with one series (so every object is 'known'), and keeps them."""

    name = "Prometheus (test)"
    profile = PROMETHEUS_PROFILE

    def __init__(self) -> None:
        self.queries: list[str] = []

    def investigation_entries(self, kind: str) -> list[dict[str, Any]]:
        return []

    def profile_entries(self, kind: str = "") -> list[dict[str, Any]]:
        return [
            e
            for e in PROMETHEUS_PROFILE["observations"]
            if not kind or e["observation"].startswith(kind + ".")
        ]

    def observe(self, tool: str, arguments: dict[str, Any], *, timeout: float) -> Any:
        if tool != "execute_query":
            raise ToolRefused(f"{tool} is not a query")
        self.queries.append(arguments["query"])
        return {"resultType": "vector", "result": [{"metric": {}, "value": [0, "1"]}]}


@pytest.fixture
def prometheus(settings):
    settings.INVESTIGATION_ENABLED = True
    settings.INVESTIGATION_PLATFORM_READS = False
    double = RecordingPrometheus()
    with registry.use(double, "prometheus"):
        yield double


BATCH_HEAD, BATCH_TAIL = "label_replace((", '), "", "", "", "")'
BATCH_JOIN = BATCH_TAIL + " or " + BATCH_HEAD


def parts(shape: str) -> list[str]:
    """A query's shape, or the shapes a combined query (``batch_query``) joins."""
    if shape.startswith(BATCH_HEAD) and shape.endswith(BATCH_TAIL):
        return shape[len(BATCH_HEAD) : -len(BATCH_TAIL)].split(BATCH_JOIN)
    return [shape]


def shapes() -> set[str]:
    return {
        LITERAL.sub('""', render_query(e["query"], e["observation"].split(".")[0], "x"))
        for e in PROMETHEUS_PROFILE["observations"]
    }


@pytest.mark.django_db
def test_an_attacker_written_alert_label_cannot_change_a_query(prometheus):
    ticket = SimpleNamespace(
        title="KubePodCrashLooping",
        description=f"pod {EVIL} keeps restarting",
        affected_system="",
        alert_labels={"alertname": "KubePodCrashLooping", "namespace": "default", "pod": EVIL},
    )
    record = ticket_investigate(ticket)
    assert prometheus.queries, record
    assert any("vector(1)" in q for q in prometheus.queries)  # the label was asked about...
    assert any(len(parts(LITERAL.sub('""', q))) > 1 for q in prometheus.queries)
    for query in prometheus.queries:  # ...only ever inside one string literal
        for part in parts(LITERAL.sub('""', query)):
            assert part in shapes(), query
        assert "vector(1)" not in LITERAL.sub('""', query)
    assert {c["tool"] for c in record["calls"]} == {"execute_query"}


class CombiningPrometheus(RecordingPrometheus):
    """Answers a combined query (``batch_query``) as Prometheus does: one series per part,
    tagged with its index."""

    def observe(self, tool: str, arguments: dict[str, Any], *, timeout: float) -> Any:
        super().observe(tool, arguments, timeout=timeout)
        tags = re.findall(r'"profile_entry", "(\d+)"', arguments["query"])
        series = [{"metric": {"profile_entry": t}, "value": [0, "1"]} for t in tags]
        return {"resultType": "vector", "result": series or [{"metric": {}, "value": [0, "1"]}]}


@pytest.mark.django_db
def test_an_objects_queries_are_asked_in_one_call_and_read_as_if_asked_alone(settings):
    settings.INVESTIGATION_ENABLED = True
    settings.INVESTIGATION_PLATFORM_READS = False
    double = CombiningPrometheus()
    ticket = SimpleNamespace(
        title="down", description="down", affected_system="prod-db-01", alert_labels={}
    )
    with registry.use(double, "prometheus"):
        record = ticket_investigate(ticket)
    vm_entries = [e for e in PROMETHEUS_PROFILE["observations"] if e["observation"][:3] == "vm."]
    # One call finds the VM, one asks every other query of its kind.
    assert len(record["calls"]) == 2, [c["arguments"] for c in record["calls"]]
    (vm,) = [o for o in record["objects"] if o["kind"] == "vm"]
    # Every value read (a label, such as Tools' status, is not in this double's answers).
    values = {e["observation"] for e in vm_entries if e["path"] == "result.0.value.1"}
    assert set(vm["observations"]) == values
    assert all(k.startswith("execute_query vm.") for k in vm["answers"])
    assert len(parts(LITERAL.sub('""', double.queries[1]))) == len(vm_entries) - 1


class NoSwitches(CombiningPrometheus):
    """No SNMP target of that name (a host is not a switch)."""

    def observe(self, tool: str, arguments: dict[str, Any], *, timeout: float) -> Any:
        answer = super().observe(tool, arguments, timeout=timeout)
        return (
            {"resultType": "vector", "result": []} if 'job="snmp"' in arguments["query"] else answer
        )


@pytest.mark.django_db
def test_a_host_given_as_an_fqdn_is_found_and_named_by_its_short_name(settings):
    settings.INVESTIGATION_ENABLED = True
    settings.INVESTIGATION_PLATFORM_READS = False
    double = NoSwitches()
    ticket = SimpleNamespace(
        title="down", description="down", affected_system="prod-db-01.lab.internal",
        alert_labels={},
    )  # fmt: skip
    with registry.use(double, "prometheus"):
        record = ticket_investigate(ticket)
    (vm,) = [o for o in record["objects"] if o["kind"] == "vm"]
    assert vm["name"] == "prod-db-01"  # the name the platforms and the targets use
    # Its series are matched whichever way the scrape spells it.
    assert any('instance=~"prod\\\\-db\\\\-01(\\\\..+)?:9100"' in q for q in double.queries)
