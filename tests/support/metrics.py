"""What the statistics tests share: reading /metrics as a test client sees it, and an
executed ticket placed at a given time."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from prometheus_client.parser import text_string_to_metric_families

from remediation.execution.models import Execution
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from tests.support.factories import TicketFactory

SERVICE_DOWN = {"title": "Service down", "description": "Web service not responding"}


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics without credentials; {(sample name, sorted labels): value}."""
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def execution_at(n: int, state: str, via: str, *, at, outcome: str, minutes: int = 10) -> Execution:
    """A ticket and its execution, claimed and finished at ``at``; the ticket resolved
    ``minutes`` after it was submitted when it succeeded."""
    status = {
        TicketOutcome.SUCCESS: TicketStatus.RESOLVED,
        TicketOutcome.FAILURE: TicketStatus.PARTIALLY_REMEDIATED,
    }[outcome]
    ticket = cast(
        Ticket,
        TicketFactory(
            ticket_id=f"AN-{n}",
            status=status,
            outcome=outcome,
            auto_remediation_executed=True,
        ),
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=at - timedelta(minutes=minutes),
        resolved_at=at if outcome == TicketOutcome.SUCCESS else None,
    )
    return Execution.objects.create(
        ticket=ticket,
        run=1,
        key=f"{ticket.pk}:1",
        state=state,
        via=via,
        claimed_at=at,
        finished_at=at,
    )
