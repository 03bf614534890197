"""An alert storm absorbed: what Alertmanager sends in a storm, against gunicorn on PostgreSQL,
with every alert accounted for from the answers and the database.

    python bench/storm.py [--senders 4] [--alertnames 5] [--hosts 60] [--rounds 6]
                          [--seconds 45] [--rate 1000/min] [--web 5]

Each sender is its own service account with its own token (an Alertmanager of its own).
Alertmanager groups by ``alertname``: every ``seconds / (rounds - 1)`` each group of each
sender sends its current state, at most ``--max-alerts`` per notification: the alerts still
firing again (re-notified every group_interval), those that resolved since (``resolved``
with ``endsAt``), those firing anew (a flapping alert: same fingerprint, new ``startsAt``,
which storm control folds into the open ticket). A fifth of the notifications are sent twice,
as the second peer of an HA pair does. The groups of a sender notify concurrently; within a
group, one notification at a time, as Alertmanager's aggregation group flushes.

The sender retries as Alertmanager's webhook notifier does (notify/util.go, ``Retrier``):
a 5xx or a failed connection is retried with its exponential backoff (0.5 s, x1.5, jitter
0.5, at most 60 s apart) until the flush times out (``--group-interval``, 300 s by default);
any 4xx, 429 included, is unrecoverable for that flush (counted as dropped).

The intake throttle is on (``--rate`` per sender, weighted by alerts per batch) so the
storm goes past it. Then the accounting, from the answers and the database:

- every firing (sender, fingerprint, startsAt) sent was answered ``created`` or ``joined``
  exactly once, every other delivery of it ``duplicate``; its ``AlertRecord`` exists, names
  the ticket the answer named, and counts exactly the deliveries answered 2xx;
- tickets = ``created`` answers, the sum of ``repeat_count`` = ``joined`` answers = the
  ``TicketRepeat`` rows, one analysis queued per ticket;
- every resolution of a firing that was stored answered ``resolved`` once (then
  ``duplicate``), and its record is resolved; none answered ``unknown``.

Prints the webhook's p50/p99 (every attempt, and the 2xx ones), the throttle's refusals
and the retries that absorbed them, storm control's folding, and PASS/FAIL for lost 0 and
duplicated 0.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _common

DB = "bench_storm"
URL = "/api/v1/alerts/alertmanager"
ALERTNAMES = [
    ("InstanceDown", "critical", "Instance is down", "The node exporter target is unreachable."),
    ("HighMemoryUsage", "warning", "Memory usage above 90%", "Available memory is low."),
    ("DiskAlmostFull", "warning", "Root filesystem almost full", "Less than 5% free."),
    ("ServiceUnhealthy", "critical", "Web service not responding", "HTTP probe on 8080 fails."),
    ("HighLoadAverage", "warning", "Load average high", "Load above the CPU count for 10 m."),
    ("NetworkErrors", "warning", "Interface errors rising", "Receive errors on eth0."),
    ("SwapThrashing", "warning", "Swapping heavily", "Swap in/out above 100 pages/s."),
    ("ClockSkew", "warning", "Clock skew detected", "NTP offset above 500 ms."),
]


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fingerprint(alertname: str, instance: str) -> str:
    return hashlib.sha256(f"{alertname}\0{instance}".encode()).hexdigest()[:16]


@dataclass
class Delivery:
    """One attempt's fate: the HTTP status, its latency, and the answer's results."""

    status: int
    seconds: float
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Log:
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: list[Delivery] = field(default_factory=list)
    # (sender, fingerprint, startsAt, status) -> outcomes answered, in order
    outcomes: dict[tuple[str, str, str, str], list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    ticket_of: dict[tuple[str, str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    dropped: list[tuple[str, int, str]] = field(default_factory=list)  # sender, alerts, why
    unanswered: set[tuple[str, str, str, str]] = field(default_factory=set)
    alerts_sent: int = 0  # alerts in notifications handed to the sender (not attempts)
    first_send: float = 0.0
    last_sent: float = 0.0  # when the last notification's first attempt went out
    last_answer: float = 0.0


def plan(args: argparse.Namespace, start: datetime) -> dict[tuple[int, int], list[list[dict]]]:
    """For each (sender, alertname group): its notifications' alert lists, one per round.

    An alert is down in round r when (host*7 + r*3 + group) % 5 == 0: sent resolved once
    (if it was firing), then firing anew in its next up round with a new startsAt."""
    rng = random.Random(7)
    out: dict[tuple[int, int], list[list[dict]]] = {}
    step = args.seconds / max(1, args.rounds - 1)
    for s in range(args.senders):
        for g in range(args.alertnames):
            name, severity, summary, description = ALERTNAMES[g % len(ALERTNAMES)]
            rounds: list[list[dict]] = []
            started: dict[int, datetime | None] = dict.fromkeys(range(args.hosts))
            for r in range(args.rounds):
                now = start + timedelta(seconds=r * step)
                alerts = []
                for h in range(args.hosts):
                    instance = f"node-{h:03d}.dc{1 + g % 3}:9100"
                    labels = {
                        "alertname": name,
                        "instance": instance,
                        "job": "node",
                        "severity": severity,
                    }
                    fp = fingerprint(name, instance)
                    down = (h * 7 + r * 3 + g) % 5 == 0
                    base = {
                        "labels": labels,
                        "annotations": {"summary": summary, "description": description},
                        "generatorURL": f"http://prometheus:9090/graph?g0.expr={name}",
                        "fingerprint": fp,
                    }
                    if down:
                        if started[h] is not None:
                            alerts.append(
                                {
                                    **base,
                                    "status": "resolved",
                                    "startsAt": iso(started[h]),  # type: ignore[arg-type]
                                    "endsAt": iso(now),
                                }
                            )
                            started[h] = None
                        continue
                    if started[h] is None:
                        started[h] = now - timedelta(milliseconds=rng.randint(0, 900))
                    alerts.append(
                        {
                            **base,
                            "status": "firing",
                            "startsAt": iso(started[h]),  # type: ignore[arg-type]
                            "endsAt": "0001-01-01T00:00:00Z",
                        }
                    )
                rounds.append(alerts)
            out[(s, g)] = rounds
    return out


def envelope(alerts: list[dict], name: str, s: int) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{name}"}}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": f"auto-remediation-{s}",
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name, "job": "node"},
        "commonAnnotations": {},
        "externalURL": f"http://alertmanager-{s}:9093",
        "alerts": alerts,
    }


def post(port: int, token: str, body: bytes) -> Delivery:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST",
            URL,
            body,
            {"Content-Type": "application/json", "Authorization": f"Token {token}"},
        )
        response = conn.getresponse()
        data = response.read()
    except OSError:
        return Delivery(0, time.perf_counter() - start)
    finally:
        conn.close()
    seconds = time.perf_counter() - start
    results = []
    if response.status in (200, 207):
        results = json.loads(data)["results"]
    return Delivery(response.status, seconds, results)


def notify(
    log: Log, port: int, token: str, sender: str, alerts: list[dict], body: bytes, deadline: float
) -> None:
    """One flush: Alertmanager's retry loop (exponential backoff, no Retry-After)."""
    rng = random.Random()
    interval = 0.5
    while True:
        d = post(port, token, body)
        with log.lock:
            log.attempts.append(d)
            if d.status in (200, 207):
                log.last_answer = time.perf_counter()
                for a, res in zip(alerts, d.results, strict=True):
                    assert res["fingerprint"] == a["fingerprint"], "answers out of order"
                    k = (sender, a["fingerprint"], a["startsAt"], a["status"])
                    log.outcomes[k].append(res["outcome"])
                    if res["ticket_id"]:
                        log.ticket_of[k[:3]].add(res["ticket_id"])
                return
        if 400 <= d.status < 500:  # unrecoverable for Alertmanager: the flush fails
            with log.lock:
                log.unanswered.update(
                    (sender, a["fingerprint"], a["startsAt"], a["status"]) for a in alerts
                )
                log.dropped.append((sender, len(alerts), f"HTTP {d.status}"))
            return
        wait = interval * rng.uniform(0.5, 1.5)
        if time.perf_counter() + wait > deadline:
            with log.lock:
                log.unanswered.update(
                    (sender, a["fingerprint"], a["startsAt"], a["status"]) for a in alerts
                )
                log.dropped.append((sender, len(alerts), f"flush timed out after {d.status}"))
            return
        time.sleep(wait)
        interval = min(interval * 1.5, 60.0)


def start_server(args: argparse.Namespace, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    env = {
        **os.environ,
        "DATABASE_URL": _common.db_url(DB),
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-not-secret-" + "x" * 40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GUNICORN_BIND": "127.0.0.1:0",
        "THROTTLE_INTAKE_RATE": args.rate,
    }
    if args.web:
        env["WEB_CONCURRENCY"] = str(args.web)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(_common.ROOT / "deploy/gunicorn.conf.py")],
        cwd=_common.ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}")
        text = log.read_text(errors="replace")
        bound = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        workers = int(args.web or (os.cpu_count() or 1) * 2 + 1)
        if bound and text.count("Booting worker with pid") >= workers:
            return proc, int(bound.group(1))
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"gunicorn did not start; see {log}")


def reconcile(log: Log, users: dict[str, int]) -> dict[str, Any]:  # noqa: C901 (one ledger)
    """Every alert sent, against the database first, then against the answers.

    The database: each stored firing (``AlertRecord``) either opened its ticket (the
    ticket's id is the record's key) or joined it (a ``TicketRepeat`` row with the record's
    key on that ticket); each ticket was opened by exactly one record, its ``repeat_count``
    is its number of joins, and one analysis was queued for it. The answers: every firing
    answered 2xx has its record and names its ticket, at most one answer says it was new
    (none when the attempt that stored it was cut off, e.g. a worker killed at its timeout,
    and the retry found it stored); every resolution answered ``resolved`` once at most and
    its record is resolved. An alert never answered 2xx is lost."""
    from django_q.models import OrmQ

    from remediation.alerts.api import parse_time
    from remediation.alerts.models import AlertRecord, AlertStatus
    from remediation.alerts.rules import alert_ticket_id
    from remediation.tickets.models import Ticket, TicketRepeat

    problems: list[str] = []
    lost = duplicated = 0
    records = {r.key: r for r in AlertRecord.objects.select_related("ticket")}
    repeats = dict(TicketRepeat.objects.values_list("submitted_ticket_id", "ticket__ticket_id"))
    tickets = dict(
        Ticket.objects.filter(source="alertmanager").values_list("ticket_id", "repeat_count")
    )
    opened: Counter[str] = Counter()
    joins: Counter[str] = Counter()
    for key, record in records.items():
        if record.ticket is None:
            lost += 1
            problems.append(f"record {key} has no ticket")
        elif record.ticket.ticket_id == key:
            opened[key] += 1
        elif repeats.get(key) == record.ticket.ticket_id:
            joins[record.ticket.ticket_id] += 1
        else:
            problems.append(f"record {key} on {record.ticket.ticket_id}: neither opened nor joined")
    for ticket_id, repeat_count in tickets.items():
        if opened[ticket_id] != 1:
            duplicated += 1
            problems.append(f"ticket {ticket_id} opened by {opened[ticket_id]} records")
        if repeat_count != joins[ticket_id]:
            problems.append(
                f"ticket {ticket_id}: repeat_count {repeat_count}, {joins[ticket_id]} joins"
            )
    queued = OrmQ.objects.count()
    if queued != len(tickets):
        problems.append(f"{queued} analyses queued for {len(tickets)} tickets")

    firing = {k[:3]: v for k, v in log.outcomes.items() if k[3] == "firing"}
    resolving = {k[:3]: v for k, v in log.outcomes.items() if k[3] == "resolved"}
    outcomes = Counter(o for v in log.outcomes.values() for o in v)
    answered_deliveries = 0
    seen_keys = set()
    for (sender, fp, starts), outs in firing.items():
        key = alert_ticket_id(fp, parse_time(starts), users[sender])  # type: ignore[arg-type]
        seen_keys.add(key)
        record = records.get(key)
        if record is None or record.ticket is None:
            lost += 1
            problems.append(f"firing {key} answered {outs} but not stored")
            continue
        new = [o for o in outs if o in ("created", "joined")]
        if len(new) > 1 or set(outs) - {"created", "joined", "duplicate"}:
            duplicated += max(0, len(new) - 1)
            problems.append(f"firing {key} answered {outs}")
        named = log.ticket_of[(sender, fp, starts)]
        if named != {record.ticket.ticket_id}:
            problems.append(f"{key}: answers named {named}, stored on {record.ticket.ticket_id}")
        resolutions = resolving.get((sender, fp, starts), [])
        answered = len(outs) + sum(o in ("resolved", "duplicate") for o in resolutions)
        answered_deliveries += answered
        if record.deliveries < answered:
            problems.append(f"{key}: {record.deliveries} deliveries counted, {answered} answered")
        if resolutions:
            if resolutions.count("resolved") > 1 or set(resolutions) - {"resolved", "duplicate"}:
                problems.append(f"resolution of {key} answered {resolutions}")
            if record.status != AlertStatus.RESOLVED:
                lost += 1
                problems.append(f"{key} resolved but its record is {record.status}")
    for k, outs in resolving.items():
        if k not in firing:
            lost += 1
            problems.append(f"resolution without its firing answered: {k} {outs}")
    phantom = set(records) - seen_keys
    if phantom:
        problems.append(f"{len(phantom)} alert records stored but never answered 2xx")
    unanswered = [k for k in log.unanswered if k not in log.outcomes]
    lost += len(unanswered)
    counted = sum(r.deliveries for r in records.values())
    return {
        "lost": lost,
        "duplicated": duplicated,
        "problems": problems,
        "outcomes": outcomes,
        "firings": len(firing),
        "resolutions": len(resolving),
        "tickets": len(tickets),
        "repeat_rows": len(repeats),
        "queued": queued,
        "records": len(records),
        "cut_off_deliveries": counted - answered_deliveries,
    }


def profile(n: int) -> dict[str, tuple[float, float, float]]:
    """One batch of ``n`` alerts of each kind, in this process through Django's test client
    (no HTTP server, no other load of ours): new firings (each a ticket), the same batch
    again (duplicates), new firings of the same alerts (joins), their resolutions. Per
    alert: milliseconds in all, in database queries, and queries."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIClient

    from remediation.accounts.services import api_token_create

    user = get_user_model().objects.create_user(f"profiler-{time.time_ns()}")
    _, key = api_token_create(user=user, name="profile", days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    timer = _common.QueryTimer()

    start = datetime.now(UTC) - timedelta(minutes=5)
    later = start + timedelta(minutes=1)

    def alerts(at: datetime, status: str = "firing") -> list[dict]:
        out = []
        for h in range(n):
            instance = f"prof-{h:03d}.dc9:9100"
            out.append(
                {
                    "status": status,
                    "labels": {
                        "alertname": "InstanceDown",
                        "instance": instance,
                        "job": "node",
                        "severity": "critical",
                    },
                    "annotations": {"summary": "Instance is down"},
                    "startsAt": iso(at),
                    "endsAt": iso(later) if status == "resolved" else "0001-01-01T00:00:00Z",
                    "fingerprint": fingerprint("InstanceDown", instance),
                }
            )
        return out

    out = {}
    for name, batch in (
        ("created", alerts(start)),
        ("duplicate", alerts(start)),
        ("joined", alerts(later)),
        ("resolved", alerts(later, "resolved")),
    ):
        timer.reset()
        t = time.perf_counter()
        with connection.execute_wrapper(timer):
            r = client.post(URL, envelope(batch, "InstanceDown", 0), format="json")
        total = time.perf_counter() - t
        assert r.status_code == 200, r.content[:300]
        got = Counter(x["outcome"] for x in r.json()["results"])
        assert got == {name: n}, got
        out[name] = (1000 * total / n, 1000 * timer.db / n, timer.queries / n)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=int(os.environ.get("STORM_SENDERS", 4)))
    parser.add_argument("--alertnames", type=int, default=int(os.environ.get("STORM_GROUPS", 5)))
    parser.add_argument("--hosts", type=int, default=int(os.environ.get("STORM_HOSTS", 60)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("STORM_ROUNDS", 6)))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("STORM_SECONDS", 45)))
    parser.add_argument("--max-alerts", type=int, default=100)
    parser.add_argument("--rate", default=os.environ.get("STORM_RATE", "2000/min"))
    parser.add_argument("--web", type=int, default=int(os.environ.get("STORM_WEB", 0)) or None)
    parser.add_argument("--group-interval", type=float, default=300.0)
    parser.add_argument("--ha-copies", type=float, default=0.2)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop gunicorn on the way out
    with _common.admin_connect() as conn:  # a fresh database: no tickets of an earlier run
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    _common.ensure_empty_database(DB)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    _common.setup_django(DB)
    from django.contrib.auth import get_user_model

    from remediation.accounts.services import api_token_create

    User = get_user_model()
    tokens: dict[str, str] = {}
    users: dict[str, int] = {}
    for s in range(args.senders):
        user = User.objects.create_user(f"alertmanager-{s}")
        _, tokens[user.username] = api_token_create(user=user, name="storm", days=1)
        users[user.username] = user.pk
    logs = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    server, port = start_server(args, logs / "gunicorn.log")
    start = datetime.now(UTC).replace(microsecond=0)
    schedule = plan(args, start - timedelta(minutes=1))
    step = args.seconds / max(1, args.rounds - 1)
    log = Log()
    t0 = time.perf_counter()
    log.first_send = t0

    def group(s: int, g: int) -> None:
        sender = f"alertmanager-{s}"
        rng = random.Random(s * 100 + g)
        name = ALERTNAMES[g % len(ALERTNAMES)][0]
        for r, alerts in enumerate(schedule[(s, g)]):
            # group_wait/interval: the first notification after a jitter, then every step
            time.sleep(max(0.0, t0 + r * step + rng.uniform(0, 1.5) - time.perf_counter()))
            for i in range(0, len(alerts), args.max_alerts):
                chunk = alerts[i : i + args.max_alerts]
                body = json.dumps(envelope(chunk, name, s)).encode()
                with log.lock:
                    log.alerts_sent += len(chunk)
                    log.last_sent = time.perf_counter()
                copies = 2 if rng.random() < args.ha_copies else 1
                threads = [
                    threading.Thread(
                        target=notify,
                        args=(
                            log,
                            port,
                            tokens[sender],
                            sender,
                            chunk,
                            body,
                            time.perf_counter() + args.group_interval,
                        ),
                    )
                    for _ in range(copies)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                if copies == 2:
                    with log.lock:
                        log.alerts_sent += len(chunk)

    threads = [
        threading.Thread(target=group, args=(s, g))
        for s in range(args.senders)
        for g in range(args.alertnames)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return report(args, log, users, t0)


def report(args: argparse.Namespace, log: Log, users: dict[str, int], t0: float) -> int:
    acc = reconcile(log, users)
    codes = Counter(d.status for d in log.attempts)
    ok = [d.seconds for d in log.attempts if d.status in (200, 207)]
    every = [d.seconds for d in log.attempts]
    alerts_answered = sum(len(d.results) for d in log.attempts)
    absorbed = log.last_answer - t0
    o = acc["outcomes"]
    print(
        f"storm: {args.senders} senders x {args.alertnames} alertnames x {args.hosts} hosts, "
        f"{args.rounds} rounds over {args.seconds:.0f} s, throttle {args.rate} per sender, "
        f"gunicorn -c deploy/gunicorn.conf.py (WEB_CONCURRENCY {args.web or 'default'})"
    )
    print(
        f"sent {log.alerts_sent} alerts in {sum(1 for d in log.attempts if d.status in (200, 207))}"
        f" accepted notifications, the last first sent at {log.last_sent - t0:.1f} s; "
        f"{alerts_answered} alert answers; absorbed in {absorbed:.1f} s "
        f"({alerts_answered / absorbed:.0f} alerts/s)"
    )
    print(f"HTTP answers: {dict(sorted(codes.items()))} (0 = connection failed)")
    print(
        f"webhook latency, every attempt: p50 {percentile(every, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(every, 0.99) * 1000:.0f} ms; 2xx: p50 {percentile(ok, 0.5) * 1000:.0f}"
        f" ms, p99 {percentile(ok, 0.99) * 1000:.0f} ms, max {max(ok or [0]) * 1000:.0f} ms"
    )
    print(f"outcomes: {dict(sorted(o.items()))}")
    print(
        f"storm control: {acc['firings']} distinct firings -> {acc['tickets']} tickets "
        f"({o['joined']} folded into open tickets, {acc['repeat_rows']} TicketRepeat rows), "
        f"{acc['queued']} analyses queued; {acc['resolutions']} resolutions; "
        f"{acc['records']} alert records; {acc['cut_off_deliveries']} deliveries counted by "
        f"attempts whose answer never arrived (retried, then answered duplicate)"
    )
    refused = sum(n for k, n in codes.items() if k >= 500 or k == 429)
    print(
        f"throttle: {refused} attempts refused, all retried with Alertmanager's backoff; "
        f"{len(log.dropped)} notifications dropped {log.dropped[:3]}"
    )
    for kind, (ms, db, queries) in profile(args.max_alerts).items():
        print(
            f"one alert {kind:9}, in process (a batch of {args.max_alerts}): {ms:.1f} ms, of "
            f"which database {db:.1f} ms ({queries:.1f} queries)"
        )
    for line in acc["problems"][:20]:
        print(f"  problem: {line}")
    good = acc["lost"] == 0 and acc["duplicated"] == 0 and not acc["problems"] and not log.dropped
    print(
        f"storm accounting: lost {acc['lost']}, duplicated {acc['duplicated']}, "
        f"{len(acc['problems'])} mismatches (target lost 0, duplicated 0) "
        f"{'PASS' if good else 'FAIL'}"
    )
    big = log.alerts_sent >= 5000 and log.last_sent - t0 <= 60
    if not big:
        print(f"(smaller than the target's 5,000 alerts within a minute: {log.alerts_sent})")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
