"""Score the analysis on live cases: incident text plus a condition staged in the lab.

    .venv/bin/python bench/analysis/live.py                         # dev and holdout
    .venv/bin/python bench/analysis/live.py --cases bench/analysis/live/holdout.jsonl -v

Each line of a case file: ``id``; ``input`` (a ticket's fields, or an Alertmanager webhook
body as Alertmanager sends it); ``stage`` (conditions set in the lab before the incident,
through the lab's control server); ``expect`` (``{"operation", "target"}``, the target of
an interface operation written "core-sw-01 Gi0/1", or nulls when no write is right).

For every case the lab is reset and staged over its control server (MCP, stdio), the ticket
is built as the intake builds it (an alert through the shipped alert mappings and ticket
text), then analysed twice: with the investigation (the connectors' read-only tools over
MCP, one pooled stdio session per server, as the worker runs it) and without (the words
alone). Printed for each: right-action recall, wrong writes (a write proposed where none is
right), wrong targets, abstentions, how many proposals could run unattended (grounded in
observations), and the investigation's call count and duration (p50, p95).

``bench/analysis/live/holdout.jsonl`` was written apart from the rules and is never used to
tune them; report its figures.

``--metrics-only`` investigates through the Prometheus connector alone (the platforms' own
read tools off, ``INVESTIGATION_PLATFORM_READS=false``): for every case a fresh lab exporter
and Prometheus (Debian's, scraping every second) are started over the staged lab, given
``--settle`` seconds, and asked through the published prometheus-mcp-server
(``make prometheus-mcp``). Each Prometheus is first given the estate's past: the exporter
writes its simulated last ``--history`` seconds (one scrape every ``--step`` s, each object
as staged, as if it had been so all along; counters advancing) and ``promtool tsdb
create-blocks-from openmetrics`` backfills them before Prometheus opens its TSDB, so the
profile's real windows (``rate()`` over 5 minutes, ``changes()`` over an hour) read as on an
estate. ``--history 0`` gives young series (a 5-minute rate reads low for the first minutes).

Metrics only, a case whose staged condition is one the series cannot tell from a look-alike
with another fix (``METRICS_BLIND``) is right when it goes to a person; the strict recall is
printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LIVE = Path(__file__).with_name("live")
DEFAULT_CASES = [LIVE / "dev.jsonl", LIVE / "holdout.jsonl"]


# Metrics only: the staged conditions whose right fix the standard exporters' series cannot
# establish (docs/investigation.md, "What metrics cannot show"): the series show the symptom,
# and look the same for a look-alike whose right answer differs. Kept equal to that table:
# a condition the series learn to tell apart (the kubelet's liveness failures, cAdvisor's
# CPU, nova's status and flavor) leaves it, and its cases count only with the right write.
# In these cases a person deciding is the right outcome without platform reads, and a
# proposal of any other write is still wrong.
METRICS_BLIND: dict[str, str] = {
    "snapshot_bloat": "no standard exporter reports a storage array's snapshot space",
    "volume_full": "the series show a volume full and filling, not what holds the space "
    "(data, logs or snapshots): expand, clear snapshots and a person look alike",
    "err_disabled": "IF-MIB shows a port down while enabled, as for a pulled cable; "
    "err-disabled is a vendor state outside the standard if_mib module, and whether its "
    "trigger has stopped (what makes enabling it right) is in no series",
}


def staged_on(case: dict[str, Any], target: str) -> str | None:
    """The condition a case staged on the expected target (``device interface`` too)."""
    for staged in case.get("stage") or []:
        name = staged["target"]
        if staged.get("interface"):
            name = f"{name} {staged['interface']}"
        if name == target:
            return str(staged["condition"])
    return None


@dataclass
class Score:
    name: str
    cases: int = 0
    with_action: int = 0
    right: int = 0
    without_action: int = 0
    wrong_writes: int = 0
    proposals: int = 0
    wrong_targets: int = 0
    abstained: int = 0
    unattended: int = 0
    unattended_wrong: int = 0
    blind: int = 0  # metrics only: cases whose right fix the series cannot establish
    blind_abstained: int = 0
    calls: list[int] = field(default_factory=list)
    ms: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @staticmethod
    def rate(part: int, whole: int) -> str:
        return f"{part / whole:6.1%} ({part}/{whole})" if whole else "   n/a"

    def report(self) -> str:
        out = [
            f"{self.name}: {self.cases} cases, {self.with_action} with a right action, "
            f"{self.without_action} without",
            f"  right-action recall          {self.rate(self.right, self.with_action)}",
            *(
                [
                    f"  right fix, or a person where metrics cannot show the cause "
                    f"{self.rate(self.right + self.blind_abstained, self.with_action)}"
                    f" ({self.blind} such cases, {self.blind_abstained} left to a person)"
                ]
                if self.blind
                else []
            ),
            f"  wrong writes (none is right) {self.rate(self.wrong_writes, self.without_action)}",
            f"  wrong targets                {self.rate(self.wrong_targets, self.proposals)}",
            f"  abstentions                  {self.rate(self.abstained, self.cases)}",
            f"  grounded (may run alone)     {self.rate(self.unattended, self.proposals)}"
            f", of which wrong: {self.unattended_wrong}",
        ]
        if self.ms:
            p95 = statistics.quantiles(self.ms, n=20)[-1] if len(self.ms) > 1 else self.ms[0]
            out.append(
                f"  investigation: calls mean {statistics.mean(self.calls):.1f}, max "
                f"{max(self.calls)}; ms p50 {statistics.median(self.ms):.0f}, p95 {p95:.0f}"
            )
        return "\n".join(out)


class MetricsStack:
    """The lab exporter and Prometheus over the bench's lab state, started afresh per case
    (no case's rates carry into the next)."""

    def __init__(
        self, tmp: Path, lab_state: Path, settle: float, history: int = 3600, step: int = 30
    ) -> None:
        import socket

        self.tmp, self.lab_state, self.settle = tmp, lab_state, settle
        self.history, self.step = history, step
        ports = []
        for _ in range(2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        self.exporter_port, self.prom_port = ports
        self.url = f"http://127.0.0.1:{self.prom_port}"
        self.processes: list[Any] = []
        self.runs = 0

    def _config(self) -> Path:
        import yaml

        shipped = ROOT / "deploy" / "prometheus" / "lab-scrape.yml"
        config = yaml.safe_load(shipped.read_text())
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        config.pop("rule_files", None)
        config["scrape_configs"][0]["static_configs"] = [
            {"targets": [f"127.0.0.1:{self.exporter_port}"]}
        ]
        path = self.tmp / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        return path

    def restart(self) -> None:
        import subprocess
        import urllib.request

        self.stop()
        self.runs += 1
        log = (self.tmp / "metrics.log").open("ab")
        history = self.tmp / f"history-{self.runs}.om"
        tsdb = self.tmp / f"tsdb-{self.runs}"
        exporter = [sys.executable, "-m", "lab", "exporter", "--port", str(self.exporter_port)]
        if self.history:
            exporter += ["--history", str(self.history), "--step", str(self.step),
                         "--history-file", str(history)]  # fmt: skip
        self.processes = [
            subprocess.Popen(
                exporter,
                cwd=ROOT,
                env={**os.environ, "LAB_STATE_PATH": str(self.lab_state)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        ]
        if self.history:
            # The estate's past: the exporter's simulated hour, backfilled into a fresh TSDB
            # before Prometheus opens it, so its series have history as on a real estate.
            deadline = time.monotonic() + 120
            while not history.exists() and time.monotonic() < deadline:
                if self.processes[0].poll() is not None:
                    raise SystemExit("the lab exporter stopped (see metrics.log)")
                time.sleep(0.1)
            subprocess.run(
                ["/usr/bin/promtool", "tsdb", "create-blocks-from", "openmetrics", "-q",
                 str(history), str(tsdb)],
                check=True, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            history.unlink()
        self.processes.append(
            subprocess.Popen(
                ["/usr/bin/prometheus", f"--config.file={self._config()}",
                 f"--storage.tsdb.path={tsdb}",
                 f"--web.listen-address=127.0.0.1:{self.prom_port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            ),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        query = f"{self.url}/api/v1/query?query=count(up)"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(query, timeout=2) as answer:
                    if json.loads(answer.read())["data"]["result"]:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        time.sleep(self.settle)

    def stop(self) -> None:
        import signal

        for proc in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
        self.processes = []


def metrics_only_connector(url: str) -> None:
    """The migrated Prometheus connector, enabled and pointed at the bench's Prometheus."""
    from remediation.connectors.models import PlatformConnector

    server = ROOT / "var" / "prometheus-mcp" / "bin" / "prometheus-mcp-server"
    if not server.exists():
        raise SystemExit(f"{server} is missing: run `make prometheus-mcp`")
    PlatformConnector.objects.filter(platform="prometheus").update(
        command=str(server),
        env={"PROMETHEUS_URL": url, "PROMETHEUS_DISABLE_LINKS": "true",
             "PROMETHEUS_REQUEST_TIMEOUT": "5"},
        enabled=True,
    )  # fmt: skip


def warm_up(metrics: MetricsStack) -> None:
    """Start the worker's pooled prometheus-mcp-server session before the first case, as a
    running worker has it (its start is not part of any one investigation)."""
    from remediation.connectors.mcp import ConnectorError
    from remediation.connectors.registry import get_connector

    metrics.restart()
    connector: Any = get_connector("prometheus")
    for _ in range(10):  # the connector's own timeout bounds each try; a loaded machine
        try:
            connector.observe("execute_query", {"query": "count(up)"}, timeout=60)
            return
        except ConnectorError:
            time.sleep(1)


def setup_django(database: Path, lab_state: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["LAB_STATE_PATH"] = str(lab_state)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def ticket_of(case: dict[str, Any]) -> SimpleNamespace:
    """The ticket the intake would store for this input (an alert through the mappings)."""
    source = case["input"]
    if source["kind"] == "ticket":
        from remediation.tickets.api import TicketInputSerializer

        # Checked as POST /api/v1/tickets checks it: a refused ticket never reaches analysis.
        fields = {
            "ticket_id": case["id"][:64],
            "title": source["title"],
            "description": source["description"],
            "category": source.get("category", "") or "other",
            "affected_system": source.get("affected_system", ""),
            "severity": source.get("severity", "medium"),
        }
        intake = TicketInputSerializer(data=fields)
        if not intake.is_valid():
            return SimpleNamespace(refused=json.dumps(intake.errors)[:200])
        data = intake.validated_data
        return SimpleNamespace(
            ticket_id=case["id"],
            title=data["title"],
            description=data["description"],
            category=source.get("category", ""),
            affected_system=data.get("affected_system", ""),
            severity=data["severity"],
            source="api",
            alert_labels={},
            refused="",
        )
    from remediation.alerts import selectors
    from remediation.alerts.rules import map_alert, ticket_text

    alert = source["payload"]["alerts"][0]
    labels = {str(k): str(v) for k, v in alert["labels"].items()}
    mapped = map_alert(labels, selectors.alert_mapping_rules())
    title, description = ticket_text(labels, alert.get("annotations") or {}, notes=mapped.notes)
    return SimpleNamespace(
        ticket_id=case["id"],
        title=title,
        description=description,
        category=mapped.category,
        affected_system=mapped.affected_system,
        severity=mapped.severity,
        source="alertmanager",
        alert_labels=labels,
        refused="",
    )


def system_of(action: Any) -> str:
    interface = action.params.get("interface")
    return f"{action.system} {interface}" if interface else action.system


def run_case(
    case: dict[str, Any],
    control: Any,
    investigate: bool,
    score: Score,
    verbose: bool,
    metrics: MetricsStack | None = None,
) -> None:
    from remediation.analysis.base import TicketText
    from remediation.analysis.local import LocalAnalyzer
    from remediation.analysis.services import _ground
    from remediation.investigation.services import ticket_investigate

    control.call("reset_lab", {})
    for staged in case.get("stage") or []:
        control.call(
            "set_condition",
            {
                "target": staged["target"],
                "condition": staged["condition"],
                "interface": staged.get("interface"),
            },
        )
    if metrics is not None and investigate:
        metrics.restart()
    ticket = ticket_of(case)
    expected = case["expect"] if case["expect"].get("operation") else None
    if ticket.refused:
        # Refused at intake: nothing is analyzed, nothing proposed (a person resubmits it).
        score.cases += 1
        score.abstained += 1
        if expected:
            score.with_action += 1
        else:
            score.without_action += 1
        score.lines.append(
            f"{'MISS' if expected else 'ok  '} {case['id']}: refused at intake {ticket.refused}"
        )
        return
    investigation = None
    if investigate:
        t0 = time.monotonic()
        investigation = ticket_investigate(ticket)
        score.ms.append(int((time.monotonic() - t0) * 1000))
        score.calls.append(len(investigation["calls"]))
    analysis = LocalAnalyzer().analyze(TicketText.from_ticket(ticket, investigation))
    analysis = _ground(analysis, investigation or {}, affected_system=ticket.affected_system)
    actions = [a for a in analysis.actions if a.action_type != "read_only"]
    first = actions[0] if actions else None
    right = bool(
        expected
        and first
        and first.operation == expected["operation"]
        and system_of(first) == expected["target"]
    )
    score.cases += 1
    score.proposals += len(actions)
    if expected:
        score.wrong_targets += sum(1 for a in actions if system_of(a) != expected["target"])
    basis = (analysis.diagnosis.extra.get("basis") if analysis.diagnosis else None) or "none"
    if actions and basis == "observed":
        score.unattended += 1
        score.unattended_wrong += not right
    if not actions:
        score.abstained += 1
    if expected:
        score.with_action += 1
        score.right += right
        if metrics is not None and staged_on(case, expected["target"]) in METRICS_BLIND:
            score.blind += 1
            score.blind_abstained += not actions
            right = right or not actions
    else:
        score.without_action += 1
        score.wrong_writes += bool(actions)
    wrong = (expected and not right) or (not expected and actions)
    if wrong or verbose:
        got = f"{first.operation} on {system_of(first)}" if first else "nothing"
        want = f"{expected['operation']} on {expected['target']}" if expected else "nothing"
        why = analysis.diagnosis.needs_human_reason if analysis.diagnosis else ""
        status = investigation["status"] if investigation else "-"
        score.lines.append(
            f"{'MISS' if wrong else 'ok  '} {case['id']}: want {want}, got {got} "
            f"[{basis}, investigation {status}] {why[:140]}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, nargs="+", default=DEFAULT_CASES)
    parser.add_argument(
        "--split",
        choices=("dev", "holdout"),
        help='only the lines of this "split" (exporters.jsonl holds both)',
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list every case")
    parser.add_argument("--misses", action="store_true", help="list the cases gone wrong")
    parser.add_argument(
        "--no-words", dest="words_only", action="store_true", help="skip the words-only pass"
    )
    parser.add_argument(
        "--metrics-only",
        action="store_true",
        help="investigate through Prometheus alone (a fresh exporter and Prometheus per case)",
    )
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds of live scrapes per case"
    )
    parser.add_argument(
        "--history",
        type=int,
        default=3600,
        help="seconds of simulated past backfilled before each case (0: young series)",
    )
    parser.add_argument("--step", type=int, default=30, help="the history's scrape interval")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        metrics = None
        if args.metrics_only:
            os.environ["INVESTIGATION_PLATFORM_READS"] = "false"
            metrics = MetricsStack(
                Path(tmp), Path(tmp) / "lab.sqlite3", args.settle, args.history, args.step
            )
        setup_django(Path(tmp) / "bench.sqlite3", Path(tmp) / "lab.sqlite3")
        if metrics is not None:
            metrics_only_connector(metrics.url)
            warm_up(metrics)
        from remediation.connectors.mcp import McpSession, ServerSpec
        from remediation.connectors.mcp_connector import close_pooled_sessions

        control_spec = ServerSpec(
            label="lab control",
            transport="stdio",
            command=sys.executable,
            args=("-m", "lab", "control"),
            env=(("LAB_STATE_PATH", str(Path(tmp) / "lab.sqlite3")),),
            cwd=str(ROOT),
            timeout=30.0,
        )
        try:
            with McpSession(control_spec) as control:
                for path in args.cases:
                    cases = [
                        json.loads(line) for line in path.read_text().splitlines() if line.strip()
                    ]
                    if args.split:
                        cases = [c for c in cases if c.get("split") == args.split]
                    modes = [True] if args.words_only else [True, False]
                    for investigate in modes:
                        label = "with investigation" if investigate else "words only"
                        part = f" ({args.split})" if args.split else ""
                        score = Score(f"{path.name}{part} — {label}")
                        for case in cases:
                            run_case(case, control, investigate, score, args.verbose, metrics)
                        print(score.report())
                        if args.verbose or args.misses:
                            for line in score.lines:
                                print(f"    {line}")
        finally:
            close_pooled_sessions()
            if metrics is not None:
                metrics.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
