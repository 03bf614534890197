"""A pipeline that drains: a storm of tickets queued, worked off by a real qcluster that
investigates on the lab, analyses and decides; with Q_WORKERS 1, 2 and 4, over the lab's
stdio and HTTP MCP transports.

    python bench/drain.py [--tickets 45] [--workers 1,2,4] [--transports stdio,http]

Database bench_drain, the lab in a state file of its own (half the VMs hung). For each
transport and worker count:

1. A probe ticket (opted in to auto-remediation, a hung VM) is decided first; it waits
   for approval (an approval policy is set on ``server`` for the bench).
2. The storm: ``--tickets`` tickets from three senders, queued at once (sender 0 submits
   half, in one burst, first; the two others after it), each about one of the lab's
   targets. The clock starts at the first commit.
3. While it drains: at 30 % decided, a person approves the probe: how long until its
   execution is claimed by a worker; at 50 %, a fourth sender submits one ticket: its
   enqueue -> decision latency; at 70 %, the kill switch (a pause of every category):
   how long until a decision records it, and that no execution is claimed after it.
4. Drained: every ticket decided. Prints the wall time, tickets/s, where the time went
   (task time in investigation calls, the rest of the analysis task: analysis, scoring,
   decision and their database work; yields of fair turns), each sender's mean and last
   decision time (fair turns: the small senders are not served after the burst).

Targets (PASS/FAIL): approval and kill switch take effect within 5 s (not after the queue);
the small senders' mean decision time below the burst sender's; every ticket decided once.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import _common

DB = "bench_drain"
EFFECT_TARGET = 5.0  # seconds: "within seconds, not after the queue"
VMS = [f"prod-web-{n:02d}" for n in range(1, 9)] + ["prod-db-01", "prod-app-01"]
KINDS = [
    ("Service down", "Web service not responding on port 8080"),
    ("VM unresponsive", "The virtual machine does not answer ping or SSH"),
    ("High memory usage", "Memory usage above 95 percent, the VM is swapping"),
]


def start_worker(env: dict[str, str], workers: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=_common.ROOT,
        env={**env, "Q_WORKERS": str(workers)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait(predicate: Any, timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def run(  # noqa: C901 (one timeline, read top to bottom)
    transport: str, workers: int, args: argparse.Namespace, env: dict[str, str], n: int
) -> dict[str, Any]:
    from django.contrib.auth.models import Group, User
    from django.utils import timezone
    from django_q.models import OrmQ, Task

    from lab import engine
    from lab.state import LabState
    from policies.models import RemediationPause
    from policies.services import remediation_pause
    from remediation.approvals.services import approval_grant
    from remediation.execution.models import Execution
    from remediation.tickets.models import Ticket, TicketStatus
    from remediation.tickets.services import TicketInput, ticket_create

    # Nothing of the previous run left open (storm control would join it) or queued.
    Ticket.objects.exclude(status__in=["resolved", "failed"]).update(
        status="resolved", outcome="success"
    )
    OrmQ.objects.all().delete()
    Task.objects.all().delete()
    RemediationPause.objects.all().delete()
    lab = LabState(Path(env["LAB_STATE_PATH"]))
    lab.reset()
    with lab.tx() as tx:
        for i, vm in enumerate(VMS):
            engine.set_condition(tx.world, vm, "vm_hung" if i % 2 else None)
        tx.save()

    tag = f"{transport[0]}{workers}-{n}"
    # New submitters each run: storm control lets a key open at most 3 tickets an hour, and
    # the runs' tickets would join the earlier runs' instead of being analysed.
    senders = [User.objects.create(username=f"sender-{s}-{tag}") for s in range(4)]
    approver = User.objects.get_or_create(username="approver")[0]
    approver.groups.add(Group.objects.get(name="Approvers"))
    log = Path(args.logs) / f"qcluster-{transport}-{workers}.log"
    worker = start_worker(env, workers, log)
    try:
        # 1. The probe that will wait for approval: a hung VM (another one per attempt: an
        # investigation cut short under load leaves the cause unknown, and no action).
        probe = None
        for attempt, vm in enumerate(VMS[1::2][:3]):
            probe_id = f"PROBE-{tag}-{attempt}"
            ticket_create(
                TicketInput(
                    ticket_id=probe_id,
                    title="VM unresponsive",
                    description=f"The virtual machine {vm} does not answer ping or SSH",
                    category="server",
                    affected_system=vm,
                    enable_auto_remediation=True,
                ),
                acting_user=senders[3],
            )
            probe = wait(
                lambda pid=probe_id: (
                    Ticket.objects.filter(ticket_id=pid)
                    .exclude(status=TicketStatus.PROCESSING)
                    .first()
                ),
                timeout=120,
            )
            if probe is None:
                raise SystemExit(f"the worker did not decide the probe; see {log}")
            if probe.status == TicketStatus.AWAITING_APPROVAL:
                break
        probe_waits = probe.status == TicketStatus.AWAITING_APPROVAL
        # 2. The storm, queued at once: half from sender 0 first, then senders 1 and 2.
        plan: list[tuple[int, int]] = []
        half = args.tickets // 2
        plan += [(0, i) for i in range(half)]
        plan += [(1 + (i % 2), i) for i in range(args.tickets - half)]
        start = timezone.now()
        t0 = time.monotonic()
        ids: dict[str, int] = {}
        for k, (s, i) in enumerate(plan):
            title, text = KINDS[(i // len(VMS)) % len(KINDS)]
            vm = VMS[i % len(VMS)]
            tid = f"S{s}-{tag}-{k}"
            ticket_create(
                TicketInput(
                    ticket_id=tid,
                    title=title,
                    description=f"{text} ({vm})",
                    category="server",
                    affected_system=vm,
                    enable_auto_remediation=False,
                ),
                acting_user=senders[s],
            )
            ids[tid] = s
        queued_in = time.monotonic() - t0
        storm = Ticket.objects.filter(ticket_id__in=list(ids))
        total = storm.count()  # storm control may have joined a few: those are not queued

        def decided() -> int:
            return storm.exclude(status=TicketStatus.PROCESSING).count()

        marks: dict[str, Any] = {}
        mid_id = f"LATE-{tag}"
        while True:
            done = decided()
            if done >= total and "mid_decided" in marks:
                break
            if time.monotonic() - t0 > args.timeout:
                raise SystemExit(f"not drained after {args.timeout} s ({done}/{total})")
            if done >= 0.3 * total and "approved" not in marks and probe_waits:
                approval_grant(probe_id, acting_user=approver, comment="bench")
                marks["approved"] = time.monotonic()
            if done >= 0.5 * total and "mid" not in marks:
                ticket_create(
                    TicketInput(
                        ticket_id=mid_id,
                        title="Service down",
                        description="Web service not responding on port 8080 (prod-app-01)",
                        category="server",
                        affected_system="prod-app-01",
                        enable_auto_remediation=False,
                    ),
                    acting_user=senders[3],
                )
                marks["mid"] = time.monotonic()
                marks["mid_at"] = timezone.now()
            if done >= 0.7 * total and "paused" not in marks:
                remediation_pause(category="", reason="bench: storm", user=approver)
                marks["paused"] = time.monotonic()
                marks["paused_at"] = timezone.now()
            if "approved" in marks and "claimed" not in marks:
                claimed = (
                    Execution.objects.filter(ticket__ticket_id=probe_id, claimed_at__isnull=False)
                    .values_list("claimed_at", flat=True)
                    .first()
                )
                if claimed is not None:
                    marks["claimed"] = time.monotonic()
            if "paused" in marks and "pause_seen" not in marks:
                seen = (
                    Ticket.objects.filter(
                        remediation_decision__isnull=False, decision_facts__paused__gt=""
                    )
                    .exclude(ticket_id__in=[probe_id])
                    .exists()
                )
                if seen:
                    marks["pause_seen"] = time.monotonic()
            if (
                "mid" in marks
                and "mid_decided" not in marks
                and Ticket.objects.filter(ticket_id=mid_id)
                .exclude(status=TicketStatus.PROCESSING)
                .exists()
            ):
                marks["mid_decided"] = time.monotonic()
            time.sleep(0.05)
        wall = time.monotonic() - t0
        # Executions claimed after the kill switch (the probe's, if it waited that long).
        after_pause = Execution.objects.filter(claimed_at__gt=marks["paused_at"]).count()
        if probe_waits and "claimed" not in marks:
            wait(
                lambda: Execution.objects.filter(
                    ticket__ticket_id=probe_id, claimed_at__isnull=False
                ).exists(),
                timeout=60,
            )
    finally:
        stop(worker)

    rows = list(
        storm.values_list(
            "ticket_id",
            "created_at",
            "remediation_decision",
            "investigation",
            "analyzed_at",
            "status",
        )
    )
    per_sender: dict[int, list[float]] = {}
    inv_ms = []
    calls = 0
    for tid, _created, decision, investigation, _analyzed, _status in rows:
        at = datetime.fromisoformat(decision["decided_at"]) if decision else None
        if at is not None:
            per_sender.setdefault(ids[tid], []).append((at - start).total_seconds())
        if investigation:
            inv_ms.append(investigation.get("duration_ms", 0))
            calls += len(investigation.get("calls", []))
    yields = Task.objects.filter(
        func="remediation.tasks.analyze_ticket", started__gte=start, name__endswith="(yielded)"
    ).count()
    decided_n = sum(len(v) for v in per_sender.values())
    return {
        "transport": transport,
        "workers": workers,
        "tickets": total,
        "decided": decided_n,
        "queued_in": queued_in,
        "wall": wall,
        "investigation_s": sum(inv_ms) / 1000,
        "calls": calls,
        "yields": yields,
        "per_sender": {s: (statistics.mean(v), max(v)) for s, v in sorted(per_sender.items())},
        "probe_waits": probe_waits,
        "probe_status": probe.status,
        "approval_effect": marks["claimed"] - marks["approved"] if "claimed" in marks else None,
        "pause_effect": marks["pause_seen"] - marks["paused"] if "pause_seen" in marks else None,
        "claimed_after_pause": after_pause,
        "mid_latency": marks["mid_decided"] - marks["mid"],
    }


def profile(transport: str, k: int) -> dict[str, float]:
    """Where one analysis task's time goes, in this process (no worker, no queue): ``k``
    tickets analysed one by one by ``ticket_analyze`` (investigation, analysis, scoring,
    safety reads and decision), every database query timed."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django_q.models import OrmQ

    from remediation.analysis.services import ticket_analyze
    from remediation.tickets.models import Ticket
    from remediation.tickets.services import TicketInput, ticket_create

    user = User.objects.get_or_create(username="profiler")[0]
    timer = _common.QueryTimer()

    rows = []
    for i in range(k + 1):  # the first one opens the MCP session: not counted
        vm = VMS[i % len(VMS)]
        tid = f"PROF-{transport}-{i}-{time.time_ns()}"
        ticket_create(
            TicketInput(
                ticket_id=tid,
                title=KINDS[i % len(KINDS)][0],
                description=f"{KINDS[i % len(KINDS)][1]} ({vm})",
                category="server",
                affected_system=vm,
                enable_auto_remediation=False,
            ),
            acting_user=user,
        )
        pk = Ticket.objects.get(ticket_id=tid).pk
        timer.reset()
        t = time.perf_counter()
        with connection.execute_wrapper(timer):
            ticket_analyze(pk)
        total = time.perf_counter() - t
        inv = (Ticket.objects.get(pk=pk).investigation or {}).get("duration_ms", 0) / 1000
        if i:
            rows.append((total, inv, timer.db, timer.queries))
        Ticket.objects.filter(pk=pk).update(status="resolved", outcome="success")
    OrmQ.objects.all().delete()
    med = statistics.median
    return {
        "total": med(r[0] for r in rows),
        "investigation": med(r[1] for r in rows),
        "db": med(r[2] for r in rows),
        "queries": med(r[3] for r in rows),
    }


def broker_ceiling(depths: list[int], cycles: int = 300) -> None:
    """The queue itself: enqueue, claim and acknowledge ``cycles`` tasks (in this process,
    no work done) with ``depth`` tasks already waiting ahead, as during a storm."""
    from django.utils import timezone
    from django_q.brokers import get_broker
    from django_q.models import OrmQ
    from django_q.tasks import async_task

    broker = get_broker()
    for depth in depths:
        OrmQ.objects.all().delete()
        # Queued a moment ago, ahead of the ones timed below (their payload is never run).
        earlier = timezone.now() - timedelta(seconds=1)
        OrmQ.objects.bulk_create(
            [OrmQ(key=broker.list_key, payload="x", lock=earlier) for _ in range(depth)],
            batch_size=5000,
        )
        t = time.perf_counter()
        for i in range(cycles):
            async_task("math.ceil", i)
        enqueue = (time.perf_counter() - t) / cycles
        t = time.perf_counter()
        for _ in range(cycles):
            for ack_id, _payload in broker.dequeue() or []:
                broker.acknowledge(ack_id)
        claim = (time.perf_counter() - t) / cycles
        print(
            f"ORM broker with {depth} tasks waiting: enqueue {enqueue * 1000:.2f} ms, "
            f"claim + acknowledge {claim * 1000:.2f} ms per task "
            f"(one process: about {1 / (enqueue + claim):.0f} tasks/s through the queue)"
        )
    OrmQ.objects.all().delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=int(os.environ.get("DRAIN_TICKETS", 45)))
    parser.add_argument("--workers", default=os.environ.get("DRAIN_WORKERS", "1,2,4"))
    parser.add_argument("--transports", default=os.environ.get("DRAIN_TRANSPORTS", "stdio,http"))
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--profile", type=int, default=int(os.environ.get("DRAIN_PROFILE", 8)))
    parser.add_argument(
        "--broker-depths", default=os.environ.get("DRAIN_BROKER_DEPTHS", "0,1000,20000")
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the worker on the way out
    args.tickets = min(args.tickets, 3 * len(VMS) * len(KINDS) // 2 * 2)
    with _common.admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    _common.ensure_empty_database(DB)
    tmp = Path(tempfile.mkdtemp(prefix="bench-drain-"))
    args.logs = str(tmp)
    lab_file = tmp / "lab.sqlite3"
    os.environ["LAB_STATE_PATH"] = str(lab_file)
    token = "bench-lab-token-" + os.urandom(12).hex()
    os.environ["LAB_TOKEN"] = token
    _common.setup_django(DB)
    from policies.models import AutoRemediationPolicy
    from remediation.connectors.models import PlatformConnector

    # A person approves what is opted in on `server` (the probe): the approval is measured.
    AutoRemediationPolicy.objects.update_or_create(
        category="server",
        defaults={
            "name": "bench-server",
            "allowed_action_types": ["safe_write", "critical_write"],
            "min_confidence_score": 0.0,
            "min_reliability_score": 0.0,
            "auto_approve_threshold": None,
            "min_similar_tickets": 0,
            "min_positive_feedback_rate": 0.0,
            "forbidden_commands": [],
            "requires_rollback_plan": False,
            "requires_approval": True,
            "required_approvals": 1,
            "max_actions_per_hour": 1000,
        },
    )
    env = {
        **os.environ,
        "DATABASE_URL": _common.db_url(DB),
        "DEBUG": "false",
        "LAB_STATE_PATH": str(lab_file),
        "INVESTIGATION_ENABLED": "true",
        "LAB_TOKEN": token,
    }
    results = []
    lab_http = None
    try:
        for transport in args.transports.split(","):
            if transport == "http":
                port = _common.free_port()
                lab_http = subprocess.Popen(
                    [sys.executable, "-m", "lab", "http", "--port", str(port)],
                    cwd=_common.ROOT,
                    env=env,
                    stdout=(tmp / "lab-http.log").open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                time.sleep(3)
                PlatformConnector.objects.update(
                    transport="http", url=f"http://127.0.0.1:{port}/mcp", token_env="LAB_TOKEN"
                )
            else:
                PlatformConnector.objects.update(transport="stdio")
            p = profile(transport, args.profile)
            print(
                f"{transport:5} one analysis task, in process (median of {args.profile}): "
                f"{p['total'] * 1000:.0f} ms = investigation {p['investigation'] * 1000:.0f} ms "
                f"(MCP) + database {p['db'] * 1000:.0f} ms ({p['queries']:.0f} queries) + "
                f"analysis, scoring, decision in Python "
                f"{(p['total'] - p['investigation'] - p['db']) * 1000:.0f} ms"
            )
            for n, w in enumerate(int(x) for x in args.workers.split(",")):
                r = run(transport, w, args, env, n)
                results.append(r)
                print_run(r)
            if lab_http is not None:
                stop(lab_http)
                lab_http = None
    finally:
        if lab_http is not None:
            stop(lab_http)
    if args.broker_depths:
        broker_ceiling([int(d) for d in args.broker_depths.split(",")])
    return verdicts(results)


def print_run(r: dict[str, Any]) -> None:
    rate = r["decided"] / r["wall"]
    print(
        f"{r['transport']:5} Q_WORKERS={r['workers']}: {r['decided']}/{r['tickets']} decided in "
        f"{r['wall']:.1f} s ({rate:.2f} tickets/s; queued in {r['queued_in']:.1f} s); "
        f"investigations {r['investigation_s']:.1f} s in all ({r['calls']} MCP calls); "
        f"{r['yields']} turns yielded to other senders"
    )
    fair = ", ".join(
        f"sender {s}: mean {m:.1f} s, last {x:.1f} s" for s, (m, x) in r["per_sender"].items()
    )
    print(f"  decided after the storm was queued: {fair}")
    approval = r["approval_effect"]
    pause = r["pause_effect"]
    print(
        f"  approval -> execution claimed: "
        f"{f'{approval:.2f} s' if approval is not None else 'not claimed during the storm'}"
        f" (probe {r['probe_status']}); kill switch -> first decision under it: "
        f"{f'{pause:.2f} s' if pause is not None else 'none'}, executions claimed after it: "
        f"{r['claimed_after_pause']}; mid-storm ticket (4th sender) enqueue -> decision "
        f"{r['mid_latency']:.2f} s"
    )


def verdicts(results: list[dict[str, Any]]) -> int:
    fail = 0
    for r in results:
        name = f"drain {r['transport']} Q_WORKERS={r['workers']}"
        approval = r["approval_effect"]
        ok = approval is not None and approval <= EFFECT_TARGET
        fail |= _common.verdict(
            f"{name} approval effect/{EFFECT_TARGET:.0f} s",
            (approval if approval is not None else r["wall"]) / EFFECT_TARGET,
            "<= 1",
            ok,
        )
        pause = r["pause_effect"]
        ok = pause is not None and pause <= EFFECT_TARGET and r["claimed_after_pause"] == 0
        fail |= _common.verdict(
            f"{name} kill switch effect/{EFFECT_TARGET:.0f} s",
            (pause if pause is not None else r["wall"]) / EFFECT_TARGET,
            "<= 1, nothing claimed after it",
            ok,
        )
        burst = r["per_sender"].get(0, (0, 0))[0]
        small = [m for s, (m, _) in r["per_sender"].items() if s in (1, 2)]
        ratio = statistics.mean(small) / burst if burst and small else 0
        fail |= _common.verdict(
            f"{name} small senders' mean decision time / burst sender's",
            ratio,
            "<= 1",
            0 < ratio <= 1,
        )
        ok = r["decided"] == r["tickets"]
        fail |= _common.verdict(f"{name} decided/queued", r["decided"] / r["tickets"], "= 1", ok)
    by = {(r["transport"], r["workers"]): r["wall"] for r in results}
    for t in {r["transport"] for r in results}:
        if (t, 1) in by:
            scale = ", ".join(
                f"Q_WORKERS={w}: {by[(t, 1)] / by[(t, w)]:.2f}x"
                for tt, w in sorted(by)
                if tt == t and w != 1
            )
            print(f"{t}: drain speed-up over Q_WORKERS=1: {scale}")
    return fail


if __name__ == "__main__":
    sys.exit(main())
