"""Two workers run the same analysis task at the same moment (the ORM broker re-delivers a
task whose run outlasts `retry`): one stores its result, the other changes nothing."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from remediation.analysis.services import ticket_analyze
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketStatus


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_store_one_analysis(seeded, api):
    api.post(
        "/api/v1/tickets",
        {
            "ticket_id": "INC-TWICE",
            "title": "Service down",
            "description": "Web service not responding on port 8080; the VM is hung.",
            "category": "server",
            "affected_system": "prod-web-01",
        },
        format="json",
    )
    pk = Ticket.objects.get(ticket_id="INC-TWICE").pk
    barrier = threading.Barrier(4)
    results: list[str] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(ticket_analyze(pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(results) == 4
    assert sum(not r.startswith("skipped") for r in results) == 1, results
    ticket = Ticket.objects.get(pk=pk)
    assert ticket.status == TicketStatus.ANALYZED
    done = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.ANALYSIS_COMPLETED)
    assert done.count() == 1
    assert ticket.pattern.occurrence_count == 1
