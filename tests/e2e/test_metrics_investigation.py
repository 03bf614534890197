"""Metrics alone: with only the Prometheus connector investigating (the platforms' own read
tools off), real Prometheus scraping the lab exporter and the published prometheus-mcp-server
answering PromQL, staged conditions are diagnosed from the exporters' series: a crash loop
from OOM is told from one from a bad release, interface errors are established, and what
metrics cannot show is said plainly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lab.state import LabState
from remediation.connectors.models import PlatformConnector
from remediation.tickets.models import Ticket
from tests.e2e.test_prometheus_mcp import PrometheusMcp, installed_server, prometheus_config
from tests.support.dbutil import ROOT, stop, wait_for
from tests.support.execution import stage
from tests.support.servers import PROMETHEUS, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

URL = "/api/v1/tickets"
K8S = "kubernetes"
LAB_TOOLS = {"get_vm", "get_vm_metrics", "get_pod", "get_pod_logs", "get_deployment",
             "get_interface", "get_device", "get_volume", "get_instance", "get_host"}  # fmt: skip


def post(api, drain_queue, ticket_id, affected, title, category):
    body = {
        "ticket_id": ticket_id,
        "title": title,
        "description": title,
        "category": category,
        "affected_system": affected,
        "enable_auto_remediation": True,
    }
    answer = api.post(URL, body, format="json")
    assert answer.status_code == 201, answer.json()
    drain_queue()
    return Ticket.objects.get(ticket_id=ticket_id)


@pytest.fixture
def metrics_only(tmp_path, settings, seeded):
    """The lab exporter and Prometheus running; the Prometheus connector enabled and the
    platforms' reads off."""
    assert PROMETHEUS.exists(), "needs Debian's Prometheus at /usr/bin/prometheus"
    command = installed_server()
    state = settings.LAB_STATE_PATH
    LabState(state).reset()
    settings.INVESTIGATION_ENABLED = True
    settings.INVESTIGATION_PLATFORM_READS = False
    # The default number of calls; more seconds than the default on a shared test machine.
    settings.INVESTIGATION_MAX_SECONDS = 60
    processes = []
    exporter_port, prom_port = free_port(), free_port()
    try:
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "lab", "exporter", "--port", str(exporter_port)],
                cwd=ROOT,
                env={**os.environ, "LAB_STATE_PATH": str(state)},
                stdout=(tmp_path / "exporter.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        config = prometheus_config(tmp_path, f"127.0.0.1:{exporter_port}")
        processes.append(
            subprocess.Popen(
                [str(PROMETHEUS), f"--config.file={config}",
                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                stdout=(tmp_path / "prom.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )  # fmt: skip
        url = f"http://127.0.0.1:{prom_port}"
        PlatformConnector.objects.filter(platform="prometheus").update(
            command=str(command),
            env={"PROMETHEUS_URL": url, "PROMETHEUS_DISABLE_LINKS": "true",
                 "PROMETHEUS_REQUEST_TIMEOUT": "10"},
            timeout_seconds=20,
            enabled=True,
        )  # fmt: skip
        with PrometheusMcp(command, url, tmp_path / "mcp.log") as mcp:

            def value(expr):
                try:
                    result = mcp.query(expr)
                except (AssertionError, OSError):
                    return None
                return float(result[0]["value"][1]) if result else None

            yield state, value
    finally:
        for proc in reversed(processes):
            stop(proc)


def test_metrics_alone_tell_oom_from_a_bad_release_and_establish_interface_errors(
    metrics_only, api, drain_queue
):
    state, value = metrics_only
    stage(state, condition=("default/web-7d9f", "oom_killed"))
    stage(state, condition=("default/api", "bad_release"))
    stage(state, condition=("core-sw-01", "physical_fault", "Gi0/1"))
    stage(state, condition=("prod-web-02", "vm_hung"))
    stage(state, condition=("prod-web-03", "memory_pressure"))
    reason = 'kube_pod_container_status_last_terminated_reason{pod="%s", reason="%s"}'
    restarts = 'rate(kube_pod_container_status_restarts_total{pod="%s"}[5m])'
    errors = 'rate(ifInErrors{instance="core-sw-01", ifName="Gi0/1"}[5m])'
    assert wait_for(lambda: value(reason % ("web-7d9f", "OOMKilled")) == 1, 120, 1)
    assert wait_for(lambda: value(reason % ("api-3f2a", "Error")) == 1, 60, 1)
    assert wait_for(lambda: (value(restarts % "api-3f2a") or 0) > 0, 60, 1)
    assert wait_for(lambda: (value(restarts % "web-7d9f") or 0) > 0, 60, 1)
    # A failing optic counts 4 errors a second; the young series' 5-minute rate reads a
    # share of it, 6 a minute already (the rule asks for 1).
    assert wait_for(lambda: (value(errors) or 0) > 0.1, 60, 1)
    assert wait_for(lambda: value('up{instance="prod-web-02:9100"}') == 0, 60, 1)
    faults = 'rate(node_vmstat_pgmajfault{instance="prod-web-03:9100"}[5m])'
    assert wait_for(lambda: (value(faults) or 0) > 100, 60, 1), (
        value(faults),
        value('node_vmstat_pgmajfault{instance="prod-web-03:9100"}'),
        value('node_memory_MemAvailable_bytes{instance="prod-web-03:9100"}'),
    )

    oom = post(api, drain_queue, "INC-M-1", "default/web-7d9f", "web pod crash looping", K8S)
    release = post(api, drain_queue, "INC-M-2", "default/api-3f2a", "api pod crash looping", K8S)
    link = post(api, drain_queue, "INC-M-3", "core-sw-01 Gi0/1", "errors on uplink", "network")
    hung = post(api, drain_queue, "INC-M-4", "prod-web-02", "web server not responding", "server")
    memory = post(api, drain_queue, "INC-M-5", "prod-web-03", "web server very slow", "server")

    for ticket in (oom, release, link, hung, memory):
        calls = ticket.investigation["calls"]
        assert calls and {c["tool"] for c in calls} == {"execute_query"}, calls
        assert not LAB_TOOLS & {c["tool"] for c in calls}
        assert all(c["connector"].startswith("Prometheus") for c in calls)
        assert ticket.investigation["status"] in ("complete", "partial"), ticket.investigation
    assert oom.diagnosis["cause"] == "oom_killed", oom.diagnosis
    assert any("OOMKilled" in e for e in oom.diagnosis["evidence"])
    assert release.diagnosis["cause"] == "bad_release", (
        release.diagnosis,
        [(o["kind"], o["name"], o["observations"]) for o in release.investigation["objects"]],
        release.investigation["notes"],
    )
    assert link.diagnosis["cause"] == "physical_layer", link.diagnosis
    assert hung.diagnosis["cause"] == "hung", hung.diagnosis
    assert memory.diagnosis["cause"] == "memory_undersized", memory.diagnosis
    pod = next(o for o in oom.investigation["objects"] if o["kind"] == "pod")
    assert pod["observations"]["pod.last_terminated_reason"] == "OOMKilled"
    # kube-state-metrics' exit code and the kubelet's probe counters are read; what metrics
    # could not show is said: no logs, no events.
    assert pod["observations"]["pod.last_exit_code"] == 137
    assert pod["observations"]["pod.liveness_failures_rate"] == 0
    assert {"pod.log_lines", "pod.events"} <= set(pod["not_seen"])
    assert any("INVESTIGATION_PLATFORM_READS=false" in n for n in oom.investigation["notes"])
    # Its deployment was followed through the series (its namespace's deployments).
    assert any(
        (o["kind"], o["name"]) == ("deployment", "default/api")
        for o in release.investigation["objects"]
    )
