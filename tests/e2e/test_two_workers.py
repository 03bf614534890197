"""Two worker processes compete for one queue, as two machines' workers would: each
analysis runs exactly once, and both take their share.

Two real ``manage.py qcluster`` processes (two workers each) against one PostgreSQL queue
(the ORM broker): 24 tickets from three submitters queued before either starts. A task is
claimed by a conditional UPDATE of its lock, so a task both clusters read is run by one
only; a second run would find the ticket analyzed and answer "skipped".
"""

from __future__ import annotations

import re

import pytest
from django_q.models import Task

from remediation.audit.models import AuditAction, AuditEvent
from remediation.tasks import ANALYZE_TASK
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.services import TicketInput, ticket_create
from tests.support.dbutil import start_manage, stop, wait_for
from tests.support.factories import UserFactory

TICKETS = 24
VMS = [f"prod-web-{n:02d}" for n in range(1, 9)]


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_qcluster_processes_analyze_each_ticket_exactly_once(seeded, tmp_path, is_postgres):
    if not is_postgres:
        pytest.skip("several worker processes share one queue on PostgreSQL, not SQLite")
    submitters = [UserFactory(username=f"integration-{n}") for n in range(3)]
    for n in range(TICKETS):
        ticket_create(
            TicketInput(
                ticket_id=f"INC-TWO-{n}",
                title=("Service down", "VM unresponsive", "High memory usage")[n // 8],
                description="Web service not responding on port 8080",
                category="server",
                affected_system=VMS[n % len(VMS)],
            ),
            acting_user=submitters[n % 3],
        )
    assert Ticket.objects.count() == TICKETS  # none joined another: all are analysed
    logs = [tmp_path / "qcluster-a.log", tmp_path / "qcluster-b.log"]
    workers = [start_manage("qcluster", log=log, Q_WORKERS="2") for log in logs]
    try:

        def drained() -> bool:
            return not Ticket.objects.filter(status=TicketStatus.PROCESSING).exists()

        done = wait_for(drained, timeout=300, interval=0.5)
        text = [log.read_text(errors="replace") for log in logs]
        assert done, "still processing:\n" + "\n".join(t[-3000:] for t in text)
    finally:
        for w in workers:
            stop(w)

    # Each ticket analysed and decided once.
    for ticket in Ticket.objects.all():
        events = list(AuditEvent.objects.filter(ticket=ticket).values_list("action", flat=True))
        assert events.count(AuditAction.ANALYSIS_COMPLETED) == 1, ticket.ticket_id
        assert events.count(AuditAction.DECISION_MADE) == 1, ticket.ticket_id
    # No task ran twice: a second run of an analysis would have been skipped.
    results = [str(t.result) for t in Task.objects.filter(func=ANALYZE_TASK)]
    assert results and not [r for r in results if r.startswith("skipped")]
    # Both processes took tasks from the one queue, and no first delivery of an analysis was
    # processed by both (a yielded turn is queued again under its own name).
    processed = [re.findall(r"Processed '[^']*' \(analyze (INC-TWO-\d+)\)", t) for t in text]
    assert processed[0] and processed[1], "one cluster did all the work"
    assert sorted(processed[0] + processed[1]) == sorted(f"INC-TWO-{n}" for n in range(TICKETS))
