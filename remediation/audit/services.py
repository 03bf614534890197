"""Writing the audit trail, and proving it was not changed afterwards.

Every change of a ticket calls ``audit`` inside its transaction. Each row carries an HMAC
(keyed from ``AUDIT_HMAC_KEY``, by default derived from ``SECRET_KEY``) over its content and
the previous row's hash in the same *stream*: the ticket's events form one chain, a
pattern's events without a ticket another, everything else the ``system`` chain. Streams keep
writers of different tickets from waiting on one global lock (and from deadlocking against
the row locks they hold); within a stream, a lock taken here serializes writers, so the
chain has no forks. ``verify_audit`` re-computes every chain: an edited, deleted, inserted
or reordered row breaks it, and the report says which row. Without the key, a row cannot be
forged so that the chain still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from remediation.audit.models import AuditAction, AuditEvent

if TYPE_CHECKING:  # for annotations only: the audit trail is the bottom layer
    from patterns.models import Pattern
    from remediation.tickets.models import Ticket

SYSTEM = "system"
GENESIS = "0" * 64


def _key() -> bytes:
    configured = str(getattr(settings, "AUDIT_HMAC_KEY", "") or "")
    material = configured or f"audit-chain:{settings.SECRET_KEY}"
    return hashlib.sha256(material.encode()).digest()


def stream_of(ticket_id: int | None, pattern_id: int | None) -> str:
    if ticket_id is not None:
        return f"ticket:{ticket_id}"
    if pattern_id is not None:
        return f"pattern:{pattern_id}"
    return SYSTEM


def row_hash(event: AuditEvent, prev_hash: str) -> str:
    """The HMAC of one row's content chained to ``prev_hash``."""
    content = json.dumps(
        {
            "stream": event.stream,
            "prev": prev_hash,
            "ticket": event.ticket_id,
            "pattern": event.pattern_id,
            "actor": event.actor_id,
            "actor_label": event.actor_label,
            "action": str(event.action),
            "message": event.message,
            "details": event.details,
            "created_at": event.created_at.isoformat(),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hmac.new(_key(), content.encode(), hashlib.sha256).hexdigest()


def _lock_stream(stream: str) -> None:
    """Serialize writers of one stream until the transaction ends. On SQLite every write
    transaction already holds the database lock (BEGIN IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [7231, zlib.crc32(stream.encode()) - 2**31]
            )


# One log line per audited event, for log pipelines; the audit table stays the record.
events_logger = logging.getLogger("remediation.events")


def audit(
    action: AuditAction,
    message: str,
    *,
    ticket: Ticket | None = None,
    pattern: Pattern | None = None,
    acting_user: User | None = None,
    details: dict[str, Any] | None = None,
    new_stream: bool = False,
) -> AuditEvent:
    """Append one audit event. Must run inside the transaction of the change it records.

    ``new_stream``: the caller inserted ``ticket`` in this same transaction, so its stream
    is empty and no other transaction can see the ticket to write to it before this one
    commits: the event starts the chain with no lock and no read (two round trips saved
    on every ticket intake).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit() must run inside the transaction of the change it records")
    event = AuditEvent(
        ticket=ticket,
        pattern=pattern,
        actor=acting_user,
        actor_label=acting_user.get_username() if acting_user is not None else SYSTEM,
        action=action,
        message=message,
        # Round-trip through JSON so the hash covers exactly what the database stores.
        details=json.loads(json.dumps(details or {}, default=str)),
        created_at=timezone.now(),
    )
    event.stream = stream_of(event.ticket_id, event.pattern_id)
    if new_stream:
        if ticket is None or pattern is not None:
            raise ValueError("new_stream is for the first event of a ticket just inserted")
        last = None
    else:
        _lock_stream(event.stream)
        last = (
            AuditEvent.objects.filter(stream=event.stream)
            .order_by("-id")
            .values_list("hash", flat=True)
            .first()
        )
    event.prev_hash = last or GENESIS
    event.hash = row_hash(event, event.prev_hash)
    event.save()
    fields = {
        "event": str(action),
        "ticket_id": ticket.ticket_id if ticket is not None else None,
        "user": event.actor_label,
        "category": ticket.category if ticket is not None else None,
        "status": str(ticket.status) if ticket is not None else None,
        "pattern": pattern.hash if pattern is not None else None,
    }
    # Logged once the change is committed: a rolled-back change must not appear in the logs
    # as if it had happened.
    transaction.on_commit(lambda: events_logger.info(message, extra=fields))
    return event


@dataclass(frozen=True)
class AuditProblem:
    event_id: int | None
    stream: str
    problem: str

    def __str__(self) -> str:
        where = f"row {self.event_id}" if self.event_id is not None else "stream"
        return f"{self.stream}: {where}: {self.problem}"


def verify_chain(batch_size: int = 2000) -> Iterator[AuditProblem]:
    """Walk every stream in id order; yield each place the chain does not hold.

    Edited row: its hash no longer matches its content. Deleted row: the next row's
    prev_hash names a hash that is not the previous row's. Inserted row: its hash cannot be
    computed without the key, and the row after it points elsewhere. Reordered rows (ids or
    times swapped): the links no longer follow id order.
    """
    last_hash: dict[str, str] = {}
    last_time: dict[str, Any] = {}
    rows = AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size)
    for event in rows:
        stream = event.stream or "(none)"
        if not event.hash:
            yield AuditProblem(event.id, stream, "has no hash (written before the chain existed?)")
            continue
        expected_stream = stream_of(event.ticket_id, event.pattern_id)
        if event.stream != expected_stream:
            yield AuditProblem(event.id, stream, f"belongs to {expected_stream} (moved?)")
        previous = last_hash.get(event.stream, GENESIS)
        if event.prev_hash != previous:
            yield AuditProblem(
                event.id,
                stream,
                "does not follow the previous row of its stream "
                "(a row before it was deleted, inserted or reordered)",
            )
        if not hmac.compare_digest(row_hash(event, event.prev_hash), event.hash):
            yield AuditProblem(event.id, stream, "content does not match its hash (edited)")
        before = last_time.get(event.stream)
        if before is not None and event.created_at < before:
            yield AuditProblem(event.id, stream, "is older than the row before it (reordered)")
        last_hash[event.stream] = event.hash
        last_time[event.stream] = event.created_at
