"""manage.py verify_audit: re-compute the audit trail's hash chains, anchors and seals, check
that every ticket, execution and approval has the events that are always written with it,
and name every break."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT

from remediation.approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from remediation.audit.models import AuditAction, AuditEvent
from remediation.audit.services import AuditProblem, VerifyStats, stream_of, verify_trail
from remediation.execution.models import Execution, ExecutionState
from remediation.tickets.models import Ticket

# What the code always writes with each record, in the same transaction (so one snapshot
# sees both or neither):
# - a ticket: ``ticket.created`` (tickets.services.ticket_create, the only way one is made);
# - an execution: ``execution.requested`` (execution_request, which creates it); once
#   claimed (running or past it), ``execution.claimed``; refused at its claim or after,
#   ``execution.refused``; succeeded, rolled back or failed, ``execution.finished``;
#   unknown, ``execution.unknown`` (the runner's end, or the sweep). Matched by the
#   execution's key in the event's details.
# - an approval request: ``approval.requested``; expired, ``approval.expired``;
# - an approval decision: ``approval.granted`` or ``approval.rejected`` by its approver,
#   for the same actions digest (a decision row is only created where its event is
#   written).
CLAIMED = [
    ExecutionState.RUNNING,
    ExecutionState.SUCCEEDED,
    ExecutionState.ROLLED_BACK,
    ExecutionState.FAILED,
    ExecutionState.UNKNOWN,
]
EXECUTION_EVENTS: list[tuple[AuditAction, Q]] = [
    (AuditAction.EXECUTION_REQUESTED, Q()),
    (AuditAction.EXECUTION_CLAIMED, Q(state__in=CLAIMED)),
    (AuditAction.EXECUTION_REFUSED, Q(state=ExecutionState.REFUSED)),
    (
        AuditAction.EXECUTION_FINISHED,
        Q(
            state__in=[
                ExecutionState.SUCCEEDED,
                ExecutionState.ROLLED_BACK,
                ExecutionState.FAILED,
            ]
        ),
    ),
    (AuditAction.EXECUTION_UNKNOWN, Q(state=ExecutionState.UNKNOWN)),
]


def _events(action: AuditAction, ticket: str = "ticket_id", **details: Any) -> Exists:
    """Whether the outer row's ticket has an ``action`` event (with these details)."""
    events = AuditEvent.objects.filter(ticket_id=OuterRef(ticket), action=action)
    for key, value in details.items():
        events = events.annotate(**{f"_{key}": KT(f"details__{key}")}).filter(**{f"_{key}": value})
    return Exists(events)


def _missing(rows: QuerySet[Any], exists: Exists, *fields: str) -> Iterator[tuple[Any, ...]]:
    return rows.filter(~exists).order_by("pk").values_list(*fields).iterator(chunk_size=500)


def missing_record_events() -> Iterator[AuditProblem]:
    """Tickets, executions and approvals whose always-written audit events are not there:
    deleted with their stream, or cut off its end."""
    created = _events(AuditAction.TICKET_CREATED, "pk")
    for pk, ticket_id in _missing(Ticket.objects.all(), created, "pk", "ticket_id"):
        problem = f"ticket {ticket_id} has no {AuditAction.TICKET_CREATED} event"
        yield AuditProblem(None, stream_of(pk, None), problem)
    for action, which in EXECUTION_EVENTS:
        exists = _events(action, execution=OuterRef("key"))
        executions = Execution.objects.filter(which)
        for ticket_pk, key, state in _missing(executions, exists, "ticket_id", "key", "state"):
            problem = f"execution {key} ({state}) has no {action} event"
            yield AuditProblem(None, stream_of(ticket_pk, None), problem)
    requests = ApprovalRequest.objects.all()
    for action, asked in (
        (AuditAction.APPROVAL_REQUESTED, requests),
        (AuditAction.APPROVAL_EXPIRED, requests.filter(status=ApprovalStatus.EXPIRED)),
    ):
        for pk, ticket_pk, status in _missing(asked, _events(action), "pk", "ticket_id", "status"):
            problem = f"approval request {pk} ({status}) has no {action} event"
            yield AuditProblem(None, stream_of(ticket_pk, None), problem)
    for approve, action in (
        (True, AuditAction.APPROVAL_GRANTED),
        (False, AuditAction.APPROVAL_REJECTED),
    ):
        exists = Exists(
            AuditEvent.objects.filter(
                ticket_id=OuterRef("request__ticket_id"),
                action=action,
                actor_id=OuterRef("approver_id"),
            )
            .annotate(_digest=KT("details__actions_digest"))
            .filter(_digest=OuterRef("actions_digest"))
        )
        decisions = ApprovalDecision.objects.filter(approve=approve)
        fields = ("pk", "request__ticket_id", "approver__username")
        for pk, ticket_pk, username in _missing(decisions, exists, *fields):
            problem = f"approval decision {pk} by {username} has no {action} event"
            yield AuditProblem(None, stream_of(ticket_pk, None), problem)


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Every read sees the same committed state, so an append or a seal made while the
    command runs does not look like a break. On SQLite the transaction holds the write lock
    (writers wait); on PostgreSQL it is a read-only snapshot that blocks nobody."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


class Command(BaseCommand):
    help = (
        "Verify the audit trail: each stream's hash chain, its anchor and the seals (edited, "
        "deleted, inserted or reordered rows; streams cut short or deleted; deleted, forged "
        "or rewound anchors and seals), and that every ticket, execution and approval has "
        "its audit events. Names each problem and exits with status 1 when any is found."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stats = VerifyStats()
        problems = 0
        with _one_snapshot():
            for problem in verify_trail(stats):
                problems += 1
                self.stdout.write(self.style.ERROR(str(problem)))
            for problem in missing_record_events():
                problems += 1
                self.stdout.write(self.style.ERROR(str(problem)))
        if problems:
            raise CommandError(
                f"{problems} problem(s) in {stats.rows} audit rows of {stats.streams} streams"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit trail intact: {stats.rows} rows in {stats.streams} streams verified "
                f"against their anchors and {stats.seals} seals; every ticket, execution and "
                "approval has its events"
            )
        )
