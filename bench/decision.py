"""Scoring + decision time for one ticket with 1k vs 1M tickets of history.

    python bench/decision.py            # bench_small vs bench_large (bench/generate.py)

Each round creates a ticket as the analysis leaves it, scores and decides it inside a
transaction that is rolled back (the history stays as generated), alternating the two
databases. Prints the median time of each, the query counts (which must be equal) and the
ratio large/small. Target: <= 1.3 with equal queries.
"""

from __future__ import annotations

import sys
import time

import _common
from _dbswitch import use_db

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
SMALL_DB, LARGE_DB = _common.SMALL_DB, _common.LARGE_DB


class Rollback(Exception):
    pass


class HealthyTarget:
    """The remote systems' answers (backup there, system healthy), in process: the benchmark
    measures what grows with history (scoring, the rate-limit count, the decision), not a
    connector's network round trip."""

    name = "bench"

    def backup_available(self, action: object) -> bool:
        return True

    def system_healthy(self, action: object) -> bool:
        return True


def one(user_model) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from patterns.models import Pattern
    from remediation.connectors.registry import use
    from remediation.decisions.services import safety_facts_gather, ticket_decide
    from remediation.scoring import services as scoring
    from remediation.tickets.models import Ticket, TicketStatus

    user = user_model.objects.get(username="bench")
    pattern = Pattern.objects.filter(category="cache").order_by("id").first()
    elapsed, queries = 0.0, 0
    try:
        with transaction.atomic():
            ticket = Ticket.objects.create(
                ticket_id=f"DECIDE-{time.perf_counter_ns()}",
                title="Service down on host-1",
                description="The web service on host-1 is not responding.",
                category="cache",
                status=TicketStatus.ANALYZED,
                auto_remediation_enabled=True,
                resolution="Restart the VM.",
                suggested_actions=[
                    {
                        "action": "Restart host-1",
                        "system": "host-1",
                        "operation": "restart_vm",
                        "platform": "vmware",
                        "params": {"vm": "host-1"},
                        "action_type": "safe_write",
                        "rollback": "irreversible",
                    }
                ],
                confidence_score=0.9,
                pattern=pattern,
                submitted_by=user,
            )
            with CaptureQueriesContext(connection) as ctx, use(HealthyTarget()):
                start = time.perf_counter()
                # As the analysis task does: the safety facts (time window, hourly limits
                # counted over the history, the targets' answers), then under the row lock
                # the score and the decision.
                facts = safety_facts_gather(ticket)
                ticket = (
                    Ticket.objects.select_for_update(of=("self",))
                    .select_related("pattern")
                    .get(pk=ticket.pk)
                )
                scoring.score_ticket(ticket)
                ticket_decide(ticket, facts=facts)
                elapsed = time.perf_counter() - start
            queries = len(ctx.captured_queries)
            raise Rollback
    except Rollback:
        pass
    return elapsed, queries


def main() -> int:
    _common.setup_django(SMALL_DB)
    from django.contrib.auth import get_user_model

    users = get_user_model()
    times: dict[str, list[float]] = {SMALL_DB: [], LARGE_DB: []}
    counts: dict[str, set[int]] = {SMALL_DB: set(), LARGE_DB: set()}
    for db in (SMALL_DB, LARGE_DB):  # warm-up
        use_db(db)
        one(users)
    for _ in range(ROUNDS):
        for db in (SMALL_DB, LARGE_DB):
            use_db(db)
            seconds, queries = one(users)
            times[db].append(seconds)
            counts[db].add(queries)
    small, large = _common.median(times[SMALL_DB]), _common.median(times[LARGE_DB])
    print(
        f"score+decide median: {SMALL_DB} {small * 1000:.2f} ms, {LARGE_DB} {large * 1000:.2f} ms"
    )
    print(f"queries: {SMALL_DB} {sorted(counts[SMALL_DB])}, {LARGE_DB} {sorted(counts[LARGE_DB])}")
    equal = counts[SMALL_DB] == counts[LARGE_DB] and len(counts[SMALL_DB]) == 1
    ratio = large / small
    return _common.verdict(
        "decision large/small", ratio, "<= 1.3, equal queries", ratio <= 1.3 and equal
    )


if __name__ == "__main__":
    sys.exit(main())
