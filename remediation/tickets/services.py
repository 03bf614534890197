"""Writes to tickets at intake: ``ticket_create`` runs in the request, inside one transaction
with its audit row, storm control and the queued analysis."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django_q.tasks import async_task

from config.errors import Conflict
from config.queue import enqueues_rows, task_row
from policies.models import RemediationPause
from policies.rules.category import normalize_category
from policies.selectors import pause_in_force_sql
from remediation.audit.models import AuditAction
from remediation.audit.services import audit, first_ticket_event
from remediation.tickets import storm
from remediation.tickets.models import CategorySource, Severity, Ticket
from remediation.tickets.rules import lifecycle

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
    """What a submission became: a new ticket, or (storm control) an open one it joined.

    ``pauses``: the pause in force for the new ticket's category (an empty list: none) as
    read by the statement that inserted it, for the answer's ``paused``; None when it was
    not read with the ticket (the answer reads it then)."""

    ticket: Ticket
    joined: bool
    pauses: list[RemediationPause] | None = None


def ticket_create(data: TicketInput, *, acting_user: User) -> TicketIntake:
    """Insert a ticket, its audit event and its analysis task in one transaction.

    The task goes through the ORM broker, so it commits or rolls back with the ticket: a
    ticket is never left without its analysis, and a refused ticket never queues one.
    Raises ``Conflict`` when ``ticket_id`` exists (also when two requests race: the unique
    constraint decides, and the loser's transaction changes nothing).

    Storm control: when an open ticket has the same pattern and target, nothing is created;
    that ticket is returned with ``joined=True``, its repeat counted (see
    ``remediation.tickets.storm``).

    On PostgreSQL the ticket, its audit row and anchor, and its task are one statement
    (``_insert_intake``); a ticket that storm control need not claim (no target) is that
    statement alone, its own transaction, when no transaction is open.
    """
    one_statement = connection.vendor == "postgresql" and enqueues_rows()
    try:
        if (
            one_statement
            and not connection.in_atomic_block
            and not storm.storm_claims(data.affected_system)
        ):
            ticket, pauses = _insert_intake(data, acting_user)
            return TicketIntake(ticket, joined=False, pauses=pauses)
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
            if one_statement:
                ticket, read = _insert_intake(data, acting_user)
            else:
                ticket, read = _insert_intake_by_rows(data, acting_user), None
            storm.storm_register(claim, ticket)
    except IntegrityError:
        if Ticket.objects.filter(ticket_id=data.ticket_id).exists():
            raise Conflict(
                f"A ticket with ticket_id {data.ticket_id!r} already exists.",
                code="duplicate_ticket",
                fields={"ticket_id": ["A ticket with this ticket_id already exists."]},
            ) from None
        raise
    return TicketIntake(ticket, joined=False, pauses=read)


def _new_ticket(data: TicketInput, acting_user: User) -> Ticket:
    return Ticket(
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


def _created_details(ticket: Ticket) -> dict[str, object]:
    return {
        "category": ticket.category,
        "severity": ticket.severity,
        "source": ticket.source,
        "auto_remediation_enabled": ticket.auto_remediation_enabled,
    }


def _created_message(ticket: Ticket, acting_user: User) -> str:
    return f"Ticket {ticket.ticket_id} submitted by {acting_user.get_username()}"


def _insert_intake_by_rows(data: TicketInput, acting_user: User) -> Ticket:
    """The ticket, its audit event and its task, one INSERT each (inside the caller's
    transaction): SQLite, or a queue that is not rows of this database."""
    ticket = _new_ticket(data, acting_user)
    ticket.save(force_insert=True)
    audit(
        AuditAction.TICKET_CREATED,
        _created_message(ticket, acting_user),
        ticket=ticket,
        acting_user=acting_user,
        details=_created_details(ticket),
        new_stream=True,
    )
    async_task(ANALYZE_TASK, ticket.pk, task_name=f"analyze {ticket.ticket_id}"[:100])
    return ticket


# Per model and set of NULL columns: its table's INSERT with every concrete column (the id
# included: drawn first).
_INSERT_HEADS: dict[tuple[type[Model], tuple[bool, ...]], str] = {}


def _insert_row(instance: Model) -> tuple[str, list[Any]]:
    """The ORM's INSERT of ``instance`` as SQL and parameters: every column's value as
    ``save()`` sends it (``pre_save`` sets the creation times on the instance, as ``save()``
    does). A NULL is written in the SQL, not sent: a new ticket's many empty columns would
    otherwise take its statement past psycopg's 50 parameters, beyond which a statement's
    parsing is not cached (it is about 60 then)."""
    fields = instance._meta.local_concrete_fields
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    nulls = tuple(value is None for value in values)
    head = _INSERT_HEADS.get((type(instance), nulls))
    if head is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(str(f.column)) for f in fields)
        marks = ", ".join("NULL" if null else "%s" for null in nulls)
        table = quote(instance._meta.db_table)
        head = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (model's names)
        _INSERT_HEADS[(type(instance), nulls)] = head
    return head, [value for value in values if value is not None]


def _insert_intake(data: TicketInput, acting_user: User) -> tuple[Ticket, list[RemediationPause]]:
    """PostgreSQL: the ticket's id is drawn from its sequence, then the ticket, its first
    audit row and the stream's anchor, and its analysis task are inserted by one statement
    (``WITH … INSERT``) that also reads the pause in force for its category. A statement is
    atomic by itself: all four rows are written or none, inside the caller's transaction or,
    outside one, as a transaction of its own (BEGIN and COMMIT cost no round trips then).

    The same rows as ``_insert_intake_by_rows``: every column as the ORM writes it, the
    audit row as ``audit(new_stream=True)`` writes it, the task as ``async_task`` queues it.
    Returns the ticket as stored (no read back) and the pause in force ([] when none)."""
    ticket = _new_ticket(data, acting_user)
    lifecycle.check_state(ticket.state)  # what Ticket.save() checks before an insert
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s))",
            [Ticket._meta.db_table, Ticket._meta.pk.column],
        )
        ticket.pk = cursor.fetchone()[0]
        insert, values = _insert_row(ticket)
        event_sql, event_params, logged = first_ticket_event(
            AuditAction.TICKET_CREATED,
            _created_message(ticket, acting_user),
            ticket=ticket,
            acting_user=acting_user,
            details=_created_details(ticket),
        )
        task = task_row(ANALYZE_TASK, ticket.pk, task_name=f"analyze {ticket.ticket_id}"[:100])
        pause_sql, pause_params, pause_of = pause_in_force_sql(ticket.category)
        cursor.execute(
            f"WITH ticket AS ({insert}),\n{event_sql},\ntask AS ({task.SQL})\n{pause_sql}",
            [*values, *event_params, *task.params, *pause_params],
        )
        pause = pause_of(cursor.fetchone())
    ticket._state.adding = False
    ticket._state.db = connection.alias
    ticket._stored_state = ticket.state
    transaction.on_commit(logged)
    transaction.on_commit(task.enqueued)
    return ticket, [pause] if pause is not None else []
