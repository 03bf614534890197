"""The third-party Prometheus MCP server answers PromQL about the lab, end to end.

Real processes only: the lab exporter (``python -m lab exporter``), Debian's Prometheus
scraping it every second with the shipped example scrape configuration and the estate's
rules, and the published ``prometheus-mcp-server`` (pinned in
requirements/prometheus-mcp.txt, installed unmodified by ``make prometheus-mcp``) spoken to
over stdio with the MCP SDK's client. A condition staged in the lab shows in the server's
answers (the interface's error rate rises, the pod waits in CrashLoopBackOff) and goes away
after the lab's own fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import anyio
import pytest
import yaml
from anyio.from_thread import start_blocking_portal
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from lab import control, server
from tests.support.dbutil import ROOT, stop, wait_for
from tests.support.servers import PROMETHEUS, free_port

pytestmark = pytest.mark.e2e

MCP_DIR = ROOT / "var" / "prometheus-mcp"
MCP_SERVER = MCP_DIR / "bin" / "prometheus-mcp-server"
TOOLS = {
    "health_check", "execute_query", "execute_range_query", "list_metrics",
    "get_metric_metadata", "get_targets",
}  # fmt: skip
ERRORS = 'rate(ifInErrors{instance="core-sw-01", ifName="Gi0/1"}[5s])'
WAITING = 'kube_pod_container_status_waiting_reason{pod="web-7d9f", reason="CrashLoopBackOff"}'


def installed_server() -> Path:
    """The Makefile's install of the pinned server; made here when missing."""
    if not MCP_SERVER.exists():
        made = subprocess.run(
            ["make", "prometheus-mcp"], cwd=ROOT, capture_output=True, text=True, timeout=900
        )
        assert made.returncode == 0, (
            "`make prometheus-mcp` could not install the Prometheus MCP server from "
            f"requirements/prometheus-mcp.txt:\n{made.stdout[-3000:]}\n{made.stderr[-3000:]}"
        )
    assert MCP_SERVER.exists(), f"{MCP_SERVER} is missing after `make prometheus-mcp`"
    return MCP_SERVER


def lab_tool(name: str, args: dict) -> None:
    """A lab tool, in-process against the same state file the exporter reads."""
    target = control.control if name == "set_condition" else server.mcp

    async def go():
        async with Client(target) as client:
            return await client.call_tool(name, args)

    result = anyio.run(go)
    assert not result.is_error, result.content


def prometheus_config(tmp_path: Path, exporter: str) -> Path:
    """deploy/prometheus/lab-scrape.yml pointed at the test's exporter, every second."""
    shipped = ROOT / "deploy" / "prometheus" / "lab-scrape.yml"
    config = yaml.safe_load(shipped.read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(shipped.parent / "estate.yml")]
    config["scrape_configs"][0]["static_configs"] = [{"targets": [exporter]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


class PrometheusMcp:
    """One stdio session with the real server for the whole test, as a connector keeps one
    for an investigation (the SDK's async client, driven from this thread via a portal)."""

    def __init__(self, command: Path, prometheus_url: str, log: Path) -> None:
        self.params = StdioServerParameters(
            command=str(command),
            args=[],
            # Only what it needs: its Prometheus, links off (shorter answers), and a PATH.
            env={
                "PROMETHEUS_URL": prometheus_url,
                "PROMETHEUS_DISABLE_LINKS": "true",
                "PROMETHEUS_REQUEST_TIMEOUT": "10",
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            },
            cwd=str(command.parent),
        )
        self.log = log

    def __enter__(self) -> PrometheusMcp:
        self._stack = ExitStack()
        errlog = self._stack.enter_context(self.log.open("a"))
        portal = self._stack.enter_context(start_blocking_portal(backend="asyncio"))
        client = Client(stdio_client(self.params, errlog=errlog), read_timeout_seconds=60)
        self.client = self._stack.enter_context(portal.wrap_async_context_manager(client))
        self.portal = portal
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def tools(self) -> set[str]:
        return {tool.name for tool in self.portal.call(self.client.list_tools).tools}

    def call(self, name: str, args: dict) -> dict:
        answer = self.portal.call(self.client.call_tool, name, args)
        assert not answer.is_error, answer.content
        return answer.structured_content or json.loads(answer.content[0].text)

    def query(self, expr: str) -> list[dict]:
        data = self.call("execute_query", {"query": expr})
        assert data["resultType"] == "vector", data
        return data["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None


def test_the_prometheus_mcp_server_sees_a_staged_condition_rise_and_the_fix_end_it(
    tmp_path, monkeypatch
):
    assert PROMETHEUS.exists(), (
        "needs Debian's Prometheus at /usr/bin/prometheus: apt-get install prometheus "
        "(.ci/run installs it)"
    )
    command = installed_server()
    state = tmp_path / "lab.sqlite3"
    monkeypatch.setenv("LAB_STATE_PATH", str(state))
    logs = {name: tmp_path / f"{name}.log" for name in ("exporter", "prom", "mcp")}
    processes = []
    try:
        exporter_port, prom_port = free_port(), free_port()
        exporter = subprocess.Popen(
            [sys.executable, "-m", "lab", "exporter", "--port", str(exporter_port)],
            cwd=ROOT,
            env={**os.environ, "LAB_STATE_PATH": str(state)},
            stdout=logs["exporter"].open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(exporter)
        config = prometheus_config(tmp_path, f"127.0.0.1:{exporter_port}")
        prom = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=logs["prom"].open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(prom)
        mcp = PrometheusMcp(command, f"http://127.0.0.1:{prom_port}", logs["mcp"]).__enter__()
        processes.append(mcp)

        def scraped(expr: str, predicate) -> bool:
            try:
                return predicate(mcp.value(expr))
            except (AssertionError, OSError):
                return False

        # The estate is scraped: the lab's switches answer, the interface counts nothing.
        assert wait_for(
            lambda: scraped(ERRORS, lambda v: v is not None), timeout=120, interval=1
        ), logs["prom"].read_text()[-3000:] + logs["mcp"].read_text()[-3000:]
        assert mcp.tools() == TOOLS
        assert mcp.call("health_check", {})
        active = mcp.call("get_targets", {})["activeTargets"]
        assert [t["labels"]["job"] for t in active] == ["lab-exporter"]
        assert [t["health"] for t in active] == ["up"]
        assert mcp.value(ERRORS) == 0
        assert mcp.value(WAITING) is None
        assert mcp.value('up{job="snmp", instance="core-sw-01"}') == 1
        # The series the exporter names are what Prometheus stored, labels and all.
        (series,) = mcp.query('ifInErrors{instance="core-sw-01", ifName="Gi0/1"}')
        assert series["metric"] == {
            "__name__": "ifInErrors", "job": "snmp", "instance": "core-sw-01", "ifIndex": "1",
            "ifName": "Gi0/1", "ifDescr": "GigabitEthernet0/1",
            "ifAlias": "core-sw-01 to rack-01",
        }  # fmt: skip

        # A few seconds of calm on record before the fault, so the range query below has
        # points before it even on a loaded machine (the first rate needs two scrapes).
        calm_from = time.time()
        assert wait_for(lambda: time.time() > calm_from + 4, timeout=10)
        assert mcp.value(ERRORS) == 0
        staged_at = time.time()
        lab_tool("set_condition", {"target": "core-sw-01", "condition": "physical_fault",
                                   "interface": "Gi0/1"})  # fmt: skip
        lab_tool("set_condition", {"target": "default/web-7d9f", "condition": "crash_looping"})
        assert wait_for(lambda: scraped(ERRORS, lambda v: v is not None and v > 2), 60, 1)
        assert wait_for(lambda: scraped(WAITING, lambda v: v == 1), 60, 1)
        neighbour = 'rate(ifInErrors{instance="core-sw-01", ifName="Gi0/2"}[5s])'
        assert mcp.value(neighbour) == 0

        # The optic replaced (a person's fix: no catalogue write clears a failing optic).
        lab_tool("set_condition", {"target": "core-sw-01", "condition": None,
                                   "interface": "Gi0/1"})  # fmt: skip
        lab_tool("restart_pod", {"pod": "default/web-7d9f", "idempotency_key": "e2e-2"})
        fixed_at = time.time()
        assert wait_for(lambda: scraped(ERRORS, lambda v: v == 0), 60, 1)
        assert wait_for(lambda: scraped(WAITING, lambda v: v is None), 60, 1)

        # The range query over the whole story: calm, rising, calm again. The 5 s rate window
        # and the 1 s scrape trail the fix by up to 6 s; ask once the calm is longer than that.
        assert wait_for(lambda: time.time() > fixed_at + 9, timeout=15)
        end = time.time()
        data = mcp.call(
            "execute_range_query",
            {"query": ERRORS, "start": f"{staged_at - 10:.3f}", "end": f"{end:.3f}",
             "step": "1s"},
        )  # fmt: skip
        assert data["resultType"] == "matrix"
        (points,) = (series["values"] for series in data["result"])
        values = [(float(t), float(v)) for t, v in points]
        story = [(round(t - fixed_at, 1), v) for t, v in values]
        assert any(v == 0 for t, v in values if t < staged_at), story
        assert max(v for t, v in values if staged_at < t < fixed_at + 6) > 2, story
        calm = [v for t, v in values if t > fixed_at + 7]
        assert calm and set(calm) == {0.0}, story
    finally:
        for proc in reversed(processes):
            if isinstance(proc, PrometheusMcp):
                proc.__exit__(None, None, None)
            else:
                stop(proc)
