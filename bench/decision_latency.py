"""Enqueue -> decision with the investigation, on the lab, with an idle worker (p95).

    python bench/decision_latency.py [tickets]
    python bench/decision_latency.py --prometheus [tickets]

Starts a real ``manage.py qcluster`` on database bench_decide (ORM broker, the shipped
Q_CLUSTER settings) with its own lab state file, then submits the design's example ticket
("Service down" / "Web service not responding on port 8080", category server) one at a
time through ``ticket_create``, each about another of the lab's VMs, half of them hung
(staged in the lab's file before the ticket is created). For each it reads when the
decision was made (``remediation_decision.decided_at``): the worker has by then
investigated the VM and its host through the lab's read-only MCP tools (stdio, one pooled
session per worker process), analysed, scored and decided, with the safety checks asked of
the lab too. Between tickets it waits for the worker to go idle plus a random pause. Prints
p50/p95 and the ratio p95/1 s. Target: <= 1.

``--prometheus``: the investigation through Prometheus alone, as a team without platform
read tools runs it (``INVESTIGATION_PLATFORM_READS=false``, the migrated Prometheus
connector enabled): the lab exporter with an hour of simulated past backfilled into a fresh
Debian Prometheus (``promtool``, as ``bench/analysis/live.py`` does), scraping it every
second, asked through the published prometheus-mcp-server over stdio (``make
prometheus-mcp``; one pooled session per worker process). Each VM is observed with its
profile's PromQL queries (node_exporter and vSphere series, 16 calls at most). The staged
condition is given two scrapes before the ticket is created (not counted).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import _common

PROMETHEUS = "--prometheus" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a != "--prometheus"]
DB = _common.db_name("decide_prometheus" if PROMETHEUS else "decide")
# The lab's ten VMs; storm control joins a fourth ticket about one VM within the hour to the
# third, so at most 27 tickets are new incidents.
VMS = [f"prod-web-{n:02d}" for n in range(1, 9)] + ["prod-db-01", "prod-app-01"]
TICKETS = min(int(ARGS[0]) if ARGS else 24, 3 * len(VMS) - 3)
SCRAPES = 2.5  # seconds: two scrapes of the staged condition before the ticket
TARGET = 1.0


def _parts(enqueued: datetime, investigation: dict) -> str:
    """When the investigation started after the enqueue, its duration and its calls (ms)."""
    started = investigation.get("started_at")
    wait = (datetime.fromisoformat(started) - enqueued).total_seconds() if started else None
    calls = ", ".join(
        f"{c.get('tool')}({c.get('arguments', {}).get('name', '')}) {c.get('ms')}"
        + ("" if c.get("ok") else " failed")
        for c in investigation.get("calls", [])
    )
    return (
        f"picked up after {wait if wait is None else round(wait, 3)} s, investigation "
        f"{investigation.get('duration_ms')} ms [{calls}]"
    )


def main() -> int:
    with _common.admin_connect() as conn:  # no tickets of an earlier run to join
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    _common.ensure_empty_database(DB)
    lab_file = Path(tempfile.mkdtemp()) / "lab.sqlite3"
    os.environ["LAB_STATE_PATH"] = str(lab_file)
    _common.setup_django(DB)
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from lab import engine
    from lab.state import LabState
    from remediation.tickets.models import Ticket
    from remediation.tickets.services import TicketInput, ticket_create

    lab = LabState(lab_file)
    lab.reset()
    env = {
        **os.environ,
        "DATABASE_URL": _common.db_url(DB),
        "DEBUG": "false",
        "LAB_STATE_PATH": str(lab_file),
        "INVESTIGATION_ENABLED": "true",
    }
    env.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    metrics = None
    if PROMETHEUS:
        sys.path.insert(0, str(_common.ROOT / "bench"))
        from analysis.live import MetricsStack, metrics_only_connector

        metrics = MetricsStack(lab_file.parent, lab_file, settle=2.0)
        metrics.restart()
        metrics_only_connector(metrics.url)
        env["INVESTIGATION_PLATFORM_READS"] = "false"
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=_common.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    user = get_user_model().objects.get(username="bench")
    rng = random.Random(17)
    latencies: list[float] = []
    # Where each measured ticket's time went, to name the tail: (latency, ticket id, parts).
    details: list[tuple[float, str, str]] = []
    observed = 0
    try:
        time.sleep(5)  # the cluster starts its workers
        run = time.time_ns()
        for i in range(TICKETS + 3):
            vm = VMS[i % len(VMS)]
            with lab.tx() as tx:
                engine.set_condition(tx.world, vm, "vm_hung" if i % 2 else None)
                tx.save()
            if metrics is not None:
                time.sleep(SCRAPES)  # Prometheus has scraped the VM as staged
            ticket_id = f"D-{run}-{i}"
            ticket_create(
                TicketInput(
                    ticket_id=ticket_id,
                    title="Service down",
                    description="Web service not responding on port 8080",
                    category="server",
                    affected_system=vm,
                    enable_auto_remediation=False,
                ),
                acting_user=user,
            )
            enqueued = timezone.now()  # committed: the worker can see it from here
            deadline = time.monotonic() + 60
            row = None
            while row is None and time.monotonic() < deadline:
                row = (
                    Ticket.objects.filter(ticket_id=ticket_id)
                    .exclude(remediation_decision__isnull=True)
                    .values_list("remediation_decision", "diagnosis", "investigation")
                    .first()
                )
                if row is None:
                    time.sleep(0.01)
            if row is None:
                raise SystemExit(f"the worker did not decide {ticket_id}")
            decision, diagnosis, investigation = row
            decided = datetime.fromisoformat(decision["decided_at"])
            observed += (diagnosis or {}).get("basis") == "observed"
            if i >= 3:  # the first ones start the worker's lab session
                latency = (decided - enqueued).total_seconds()
                latencies.append(latency)
                details.append((latency, ticket_id, _parts(enqueued, investigation or {})))
            # Closed, so the next ticket about this VM is a new incident, not a repeat that
            # storm control joins to this one.
            Ticket.objects.filter(ticket_id=ticket_id).update(status="resolved", outcome="success")
            time.sleep(rng.uniform(0.2, 0.6))
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        if metrics is not None:
            metrics.stop()
    p50, p95 = _common.median(latencies), _common.p95(latencies)
    how = "the Prometheus investigation (metrics only)" if PROMETHEUS else "investigation"
    print("slowest tickets:")
    for latency, ticket_id, parts in sorted(details, reverse=True)[:3]:
        print(f"  {ticket_id} {latency:.3f} s: {parts}")
    print(
        f"enqueue -> decision with {how} over {len(latencies)} tickets "
        f"({observed} diagnosed from observations): p50 {p50:.3f} s, p95 {p95:.3f} s, "
        f"max {max(latencies):.3f} s"
    )
    name = "enqueue->decision (Prometheus) p95/1 s" if PROMETHEUS else "enqueue->decision p95/1 s"
    return _common.verdict(name, p95 / TARGET, "<= 1", p95 <= TARGET)


if __name__ == "__main__":
    sys.exit(main())
