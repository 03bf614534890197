"""Enqueue -> task start latency with an idle worker (p95).

    python bench/enqueue_latency.py [tickets]

Starts a real ``manage.py qcluster`` on database bench_queue (ORM broker, the shipped
Q_CLUSTER settings), then submits tickets one at a time through ``ticket_create`` (which
enqueues the analysis in the ticket's transaction) and reads when the worker had analysed
it (``Ticket.analyzed_at``, stamped right after the local analyzer returns, a few ms after
the task started: django-q2's own ``Task.started`` is the enqueue time, not the start).
Between tickets it waits for the worker to go idle plus a random pause, so each enqueue
lands at a random moment of the poll cycle. Prints p50/p95 and the ratio p95/0.4 s.
Target: <= 1.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import _common

DB = _common.db_name("queue")
TICKETS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
TARGET = 0.4


def main() -> int:
    _common.ensure_empty_database(DB)
    _common.setup_django(DB)
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from remediation.tickets.models import Ticket
    from remediation.tickets.services import TicketInput, ticket_create

    env = {**os.environ, "DATABASE_URL": _common.db_url(DB), "DEBUG": "false"}
    env.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=_common.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    user = get_user_model().objects.get(username="bench")
    rng = random.Random(13)
    latencies: list[float] = []
    try:
        time.sleep(5)  # the cluster starts its workers
        run = time.time_ns()
        for i in range(TICKETS + 3):
            ticket_id = f"Q-{run}-{i}"
            ticket_create(
                TicketInput(
                    ticket_id=ticket_id,
                    title="Service down on host-1",
                    description="The web service on host-1 is not responding.",
                    category="server",
                    enable_auto_remediation=False,
                ),
                acting_user=user,
            )
            enqueued = timezone.now()  # committed: the worker can see it from here
            deadline = time.monotonic() + 60
            analyzed = None
            while analyzed is None and time.monotonic() < deadline:
                analyzed = (
                    Ticket.objects.filter(ticket_id=ticket_id)
                    .values_list("analyzed_at", flat=True)
                    .first()
                )
                if analyzed is None:
                    time.sleep(0.01)
            if analyzed is None:
                raise SystemExit(f"the worker did not run the analysis of {ticket_id}")
            if i >= 3:  # the first ones warm the worker up
                latencies.append((analyzed - enqueued).total_seconds())
            time.sleep(rng.uniform(0.2, 0.6))
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    p50, p95 = _common.median(latencies), _common.p95(latencies)
    print(
        f"enqueue -> start over {len(latencies)} analyses: p50 {p50:.3f} s, p95 {p95:.3f} s, "
        f"max {max(latencies):.3f} s"
    )
    return _common.verdict("enqueue->start p95/0.4 s", p95 / TARGET, "<= 1", p95 <= TARGET)


if __name__ == "__main__":
    sys.exit(main())
