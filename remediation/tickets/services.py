"""Writes to tickets at intake: ``ticket_create`` runs in the request, inside one transaction
with its audit row, storm control and the queued analysis."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from config.errors import Conflict
from policies.rules.category import normalize_category
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.tickets import storm
from remediation.tickets.models import CategorySource, Severity, Ticket

logger = logging.getLogger(__name__)

ANALYZE_TASK = "remediation.tasks.analyze_ticket"


@dataclass(frozen=True)
class TicketInput:
    ticket_id: str
    title: str
    description: str
    category: str
    enable_auto_remediation: bool = False
    affected_system: str = ""
    severity: str = Severity.MEDIUM
    source: str = "api"
    category_source: str = CategorySource.GIVEN
    # Set by the alert intake only: the labels of the alert this ticket is opened for.
    alert_labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One normalized category everywhere (storm control's signature included), whoever
        # builds the input: the API, the alert intake, the replay.
        object.__setattr__(self, "category", normalize_category(self.category))


@dataclass(frozen=True)
class TicketIntake:
    """What a submission became: a new ticket, or (storm control) an open one it joined."""

    ticket: Ticket
    joined: bool


def ticket_create(data: TicketInput, *, acting_user: User) -> TicketIntake:
    """Insert a ticket, its audit event and its analysis task in one transaction.

    The task goes through the ORM broker, so it commits or rolls back with the ticket: a
    ticket is never left without its analysis, and a refused ticket never queues one.
    Raises ``Conflict`` when ``ticket_id`` exists (also when two requests race: the unique
    constraint decides, and the loser's transaction changes nothing).

    Storm control: when an open ticket has the same pattern and target, nothing is created;
    that ticket is returned with ``joined=True``, its repeat counted (see
    ``remediation.tickets.storm``).
    """
    try:
        with transaction.atomic():
            claim = storm.storm_claim(
                ticket_id=data.ticket_id,
                category=data.category,
                title=data.title,
                description=data.description,
                affected_system=data.affected_system,
                source=data.source,
                acting_user=acting_user,
                severity=data.severity,
                auto_remediation=data.enable_auto_remediation,
            )
            if claim.joined is not None:
                return TicketIntake(claim.joined, joined=True)
            ticket = Ticket.objects.create(
                ticket_id=data.ticket_id,
                title=data.title,
                description=data.description,
                category=data.category,
                category_source=data.category_source,
                affected_system=data.affected_system,
                severity=data.severity,
                source=data.source,
                alert_labels=dict(data.alert_labels),
                auto_remediation_enabled=data.enable_auto_remediation,
                submitted_by=acting_user,
            )
            audit(
                AuditAction.TICKET_CREATED,
                f"Ticket {ticket.ticket_id} submitted by {acting_user.get_username()}",
                ticket=ticket,
                acting_user=acting_user,
                details={
                    "category": ticket.category,
                    "severity": ticket.severity,
                    "source": ticket.source,
                    "auto_remediation_enabled": ticket.auto_remediation_enabled,
                },
                new_stream=True,
            )
            async_task(ANALYZE_TASK, ticket.pk, task_name=f"analyze {ticket.ticket_id}"[:100])
            storm.storm_register(claim, ticket)
    except IntegrityError:
        if Ticket.objects.filter(ticket_id=data.ticket_id).exists():
            raise Conflict(
                f"A ticket with ticket_id {data.ticket_id!r} already exists.",
                code="duplicate_ticket",
                fields={"ticket_id": ["A ticket with this ticket_id already exists."]},
            ) from None
        raise
    return TicketIntake(ticket, joined=False)
