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
    for query in prometheus.queries:  # ...only ever inside one string literal
        assert LITERAL.sub('""', query) in shapes(), query
        assert "vector(1)" not in LITERAL.sub('""', query)
    assert {c["tool"] for c in record["calls"]} == {"execute_query"}
