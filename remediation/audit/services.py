"""Writing the audit trail, and proving it was not changed afterwards.

Every change of a ticket calls ``audit`` inside its transaction. Each row carries an HMAC
(keyed from ``AUDIT_HMAC_KEY``, by default derived from ``SECRET_KEY``) over its content and
the previous row's hash in the same *stream*: the ticket's events form one chain, a
pattern's events without a ticket another, everything else the ``system`` chain. Streams keep
writers of different tickets from waiting on one global lock (and from deadlocking against
the row locks they hold); within a stream, the lock on its anchor serializes writers, so
the chain has no forks.

A chain alone cannot show that rows were cut off its end, or that a whole stream is gone:
what is left is still a consistent chain. So each stream has an *anchor* (``AuditAnchor``:
its length and last hash, under an HMAC), updated in the same transaction as every append.
Someone who can delete rows but does not hold the key can delete an anchor too, or put back
an older one they saved (a replay): every minute ``audit_seal`` records the anchors that
moved since the last seal in a chain of seals (``AuditSeal``) and marks each anchor with
that seal. An anchor put back to an older value then disagrees with the latest seal that
names its stream, and deleting seals leaves anchors that name a seal which is gone.

``verify_trail`` re-computes all of it (docs/execution.md says what it detects and what
it cannot): an edited, deleted, inserted or reordered row, a stream cut short or deleted, a
deleted, forged or rewound anchor, a deleted or edited seal. Without the key, none of these
can be forged so that the trail still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from remediation.audit.models import AuditAction, AuditAnchor, AuditEvent, AuditSeal

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


def _mac(kind: str, content: dict[str, Any]) -> str:
    text = json.dumps({"kind": kind, **content}, sort_keys=True, separators=(",", ":"))
    return hmac.new(_key(), text.encode(), hashlib.sha256).hexdigest()


def anchor_mac(
    stream: str, length: int, head_hash: str, sealed_seq: int, sealed_length: int
) -> str:
    """The HMAC of one anchor: a stream's length and last hash, and its last seal."""
    return _mac(
        "anchor",
        {
            "stream": stream,
            "length": length,
            "head": head_hash,
            "sealed_seq": sealed_seq,
            "sealed_length": sealed_length,
        },
    )


def seal_hash(seal: AuditSeal, prev_hash: str) -> str:
    """The HMAC of one seal's entries, chained to ``prev_hash``."""
    return _mac(
        "seal",
        {
            "seq": seal.seq,
            "prev": prev_hash,
            "entries": seal.entries,
            "created_at": seal.created_at.isoformat(),
        },
    )


def _lock_stream(stream: str) -> None:
    """Serialize writers of a stream that has no anchor yet until the transaction ends (a
    stream with an anchor is serialized by the anchor's row lock). On SQLite every write
    transaction already holds the database lock (BEGIN IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [7231, zlib.crc32(stream.encode()) - 2**31]
            )


def _locked_anchor(stream: str) -> AuditAnchor | None:
    """The stream's anchor, locked until the transaction ends: one query when it exists."""
    anchor = AuditAnchor.objects.select_for_update().filter(stream=stream).first()
    if anchor is None:
        # First event of the stream (or its anchor was deleted: the new row then starts a
        # chain of its own, which verify_trail reports). Two first writers must not both
        # insert an anchor: lock the stream's name, then look again.
        _lock_stream(stream)
        anchor = AuditAnchor.objects.select_for_update().filter(stream=stream).first()
    return anchor


def _anchor_advance(stream: str, anchor: AuditAnchor | None, head_hash: str) -> None:
    """Move the stream's anchor to the row just appended: one INSERT or UPDATE."""
    if anchor is None:
        AuditAnchor.objects.create(
            stream=stream,
            length=1,
            head_hash=head_hash,
            mac=anchor_mac(stream, 1, head_hash, 0, 0),
        )
        return
    length = anchor.length + 1
    AuditAnchor.objects.filter(pk=anchor.pk).update(
        length=length,
        head_hash=head_hash,
        mac=anchor_mac(stream, length, head_hash, anchor.sealed_seq, anchor.sealed_length),
    )


_FIRST_EVENT_SQL = """
WITH anchor AS (
    INSERT INTO remediation_auditanchor (stream, length, head_hash, sealed_seq, sealed_length, mac)
    VALUES (%s, 1, %s, 0, 0, %s)
)
INSERT INTO remediation_auditevent (ticket_id, pattern_id, actor_id, actor_label, action, message,
                                    details, created_at, stream, prev_hash, hash)
VALUES (%s, NULL, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s)
RETURNING id
"""


def _first_event_params(event: AuditEvent) -> list[Any]:
    """The parameters of the first event's ``WITH ... INSERT`` (the anchor, then the row):
    one list for ``_insert_first`` and ``first_ticket_event`` alike."""
    return [
        event.stream,
        event.hash,
        anchor_mac(event.stream, 1, event.hash, 0, 0),
        event.ticket_id,
        event.actor_id,
        event.actor_label,
        str(event.action),
        event.message,
        json.dumps(event.details),
        event.created_at,
        event.stream,
        event.prev_hash,
        event.hash,
    ]


def _insert_first(event: AuditEvent) -> None:
    """Append the first event of a new stream and create its anchor in one statement
    (PostgreSQL: two INSERTs in one round trip, ``WITH ... INSERT``): what ``event.save()``
    then ``_anchor_advance(stream, None, hash)`` write, on every ticket intake."""
    with connection.cursor() as cursor:
        cursor.execute(_FIRST_EVENT_SQL, _first_event_params(event))
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


# One log line per audited event, for log pipelines; the audit table stays the record.
events_logger = logging.getLogger("remediation.events")


def _actor_identity(user: User | None) -> str | None:
    """``oidc:<issuer>#<subject>`` for a person who signs in through the OpenID provider
    (remediation.accounts), else None. Asked only while OIDC is configured; a user loaded
    by the sign-in backend has the identity with it, so it costs no query then."""
    if user is None or not getattr(settings, "OIDC_ENABLED", False) or user.pk is None:
        return None
    try:
        identity = user.oidc_identity  # type: ignore[attr-defined]  # reverse one-to-one
    except ObjectDoesNotExist:
        return None
    return str(identity)


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
    commits: the event starts the chain with no lock and no read, and on PostgreSQL the
    row and its anchor are one statement (two round trips saved on every ticket intake).

    Queries: the stream's anchor, locked (skipped for ``new_stream``); the row; the
    anchor's insert or update.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit() must run inside the transaction of the change it records")
    event = _event(action, message, ticket, pattern, acting_user, details)
    if new_stream:
        if ticket is None or pattern is not None:
            raise ValueError("new_stream is for the first event of a ticket just inserted")
        anchor = None
    else:
        anchor = _locked_anchor(event.stream)
    # The time is read once the stream is ours (its id is drawn at the INSERT below, also
    # under the lock): a writer that waited for the lock cannot carry a time older than the
    # row written before it, which verify_trail would report as reordered.
    event.created_at = timezone.now()
    event.prev_hash = anchor.head_hash if anchor is not None else GENESIS
    event.hash = row_hash(event, event.prev_hash)
    if new_stream and connection.vendor == "postgresql":
        _insert_first(event)
    else:
        event.save()
        _anchor_advance(event.stream, anchor, event.hash)
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


def _event(
    action: AuditAction,
    message: str,
    ticket: Ticket | None,
    pattern: Pattern | None,
    acting_user: User | None,
    details: dict[str, Any] | None,
) -> AuditEvent:
    identity = _actor_identity(acting_user)
    if identity is not None:
        details = {**(details or {}), "actor_identity": identity}
    event = AuditEvent(
        ticket=ticket,
        pattern=pattern,
        actor=acting_user,
        actor_label=acting_user.get_username() if acting_user is not None else SYSTEM,
        action=action,
        message=message,
        # Round-trip through JSON so the hash covers exactly what the database stores.
        details=json.loads(json.dumps(details or {}, default=str)),
    )
    event.stream = stream_of(event.ticket_id, event.pattern_id)
    return event


# The first event of a ticket and its stream's anchor as two data-modifying parts of a
# ``WITH`` (PostgreSQL): what ``_insert_first`` writes, for a caller that inserts the ticket
# in the same statement (``first_ticket_event``).
FIRST_EVENT_CTE = """
audit_anchor AS (
    INSERT INTO remediation_auditanchor (stream, length, head_hash, sealed_seq, sealed_length, mac)
    VALUES (%s, 1, %s, 0, 0, %s)
),
audit_event AS (
    INSERT INTO remediation_auditevent (ticket_id, pattern_id, actor_id, actor_label, action,
                                        message, details, created_at, stream, prev_hash, hash)
    VALUES (%s, NULL, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s)
)"""


def first_ticket_event(
    action: AuditAction,
    message: str,
    *,
    ticket: Ticket,
    acting_user: User | None,
    details: dict[str, Any] | None = None,
) -> tuple[str, list[Any], Callable[[], None]]:
    """The first event of ``ticket``, whose id is drawn but which is not inserted yet, as
    the parts of one statement that also inserts the ticket (PostgreSQL): the ``WITH``
    parts (``FIRST_EVENT_CTE``), their parameters, and what to call once that statement is
    committed (the event's log line).

    The same row, hash and anchor as ``audit(..., new_stream=True)``: the stream is new,
    nobody can write to it before the ticket exists, so no lock and no read. One statement
    is atomic by itself, so the event is written with its ticket or not at all, also
    outside a transaction block.
    """
    event = _event(action, message, ticket, None, acting_user, details)
    event.created_at = timezone.now()
    event.prev_hash = GENESIS
    event.hash = row_hash(event, GENESIS)
    params = _first_event_params(event)
    fields = {
        "event": str(action),
        "ticket_id": ticket.ticket_id,
        "user": event.actor_label,
        "category": ticket.category,
        "status": str(ticket.status),
        "pattern": None,
    }
    return FIRST_EVENT_CTE, params, lambda: events_logger.info(message, extra=fields)


# --- Sealing ------------------------------------------------------------------------------

SEAL_BATCH = 500
SEAL_STREAM = "seals"  # how a problem with the seals themselves is reported


def _lock_sealer() -> None:
    """One sealer at a time (the seals form one chain). Appenders never take this lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7231, 0])


def _seal_batch(batch_size: int) -> int:
    with transaction.atomic():
        _lock_sealer()
        # An anchor whose stream is being appended to right now is locked by that writer:
        # skip it (never wait behind an append); the next seal takes it.
        anchors = list(
            AuditAnchor.objects.select_for_update(skip_locked=True)
            .filter(length__gt=F("sealed_length"))
            .order_by("id")[:batch_size]
        )
        if not anchors:
            return 0
        last = AuditSeal.objects.order_by("-seq").first()
        seal = AuditSeal(
            seq=last.seq + 1 if last is not None else 1,
            created_at=timezone.now(),
            entries=[[a.stream, a.length, a.head_hash] for a in anchors],
            prev_hash=last.hash if last is not None else GENESIS,
        )
        seal.hash = seal_hash(seal, seal.prev_hash)
        seal.save()
        for anchor in anchors:
            anchor.sealed_seq = seal.seq
            anchor.sealed_length = anchor.length
            anchor.mac = anchor_mac(
                anchor.stream, anchor.length, anchor.head_hash, seal.seq, anchor.length
            )
        AuditAnchor.objects.bulk_update(anchors, ["sealed_seq", "sealed_length", "mac"])
    return len(anchors)


def audit_seal(batch_size: int = SEAL_BATCH) -> int:
    """Seal every anchor that moved since its last seal; returns how many were sealed.

    Each seal records ``[stream, length, last hash]`` of up to ``batch_size`` anchors, is
    chained to the previous seal, and marks those anchors with its number (under their
    HMAC). Run by a schedule every minute; safe to run at any time, twice, or beside
    appends (it never waits for one)."""
    sealed = 0
    while True:
        count = _seal_batch(batch_size)
        sealed += count
        if count < batch_size:
            return sealed


# --- Verifying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditProblem:
    event_id: int | None
    stream: str
    problem: str

    def __str__(self) -> str:
        if self.event_id is None:
            return f"{self.stream}: {self.problem}"
        return f"{self.stream}: row {self.event_id}: {self.problem}"


@dataclass
class VerifyStats:
    rows: int = 0
    streams: int = 0
    anchors: int = 0
    seals: int = 0


@dataclass(frozen=True)
class _Claim:
    """What the latest seal naming a stream recorded of it."""

    seq: int
    length: int
    head: str


class _Walked:
    """One stream as the walk has seen it so far."""

    __slots__ = ("anchored", "head", "length", "time")

    def __init__(self) -> None:
        self.length = 0
        self.head = GENESIS
        self.time: Any = None
        self.anchored = False


@dataclass
class _Walk:
    stats: VerifyStats
    claims: dict[str, _Claim] = field(default_factory=dict)
    streams: dict[str, _Walked] = field(default_factory=dict)


def verify_trail(
    stats: VerifyStats | None = None, batch_size: int = 2000
) -> Iterator[AuditProblem]:
    """Yield every place the audit trail does not hold: the seals, then the rows of every
    stream, then the anchors. Streams the rows in batches; keeps one small record per
    stream. Run it in one snapshot (``verify_audit`` does) so that appends made meanwhile
    do not look like tampering."""
    walk = _Walk(stats if stats is not None else VerifyStats())
    yield from _verify_seals(walk, batch_size)
    yield from _verify_rows(walk, batch_size)
    yield from _verify_anchors(walk, batch_size)


def _verify_seals(walk: _Walk, batch_size: int) -> Iterator[AuditProblem]:
    """The seals form one chain, numbered from 1. The latest claim on each stream wins
    (each seal records a stream only when its anchor moved, so later claims are longer)."""
    previous, expected = GENESIS, 1
    for seal in AuditSeal.objects.order_by("seq").iterator(chunk_size=batch_size):
        walk.stats.seals += 1
        if seal.seq != expected:
            yield AuditProblem(
                None, SEAL_STREAM, f"seals {expected} to {seal.seq - 1} are missing (deleted)"
            )
        if seal.prev_hash != previous:
            yield AuditProblem(
                None,
                SEAL_STREAM,
                f"seal {seal.seq} does not follow the seal before it (a seal was deleted or "
                "replaced)",
            )
        if not hmac.compare_digest(seal_hash(seal, seal.prev_hash), seal.hash):
            yield AuditProblem(
                None, SEAL_STREAM, f"seal {seal.seq} does not match its hash (edited or forged)"
            )
        try:
            for stream, length, head in seal.entries:
                walk.claims[str(stream)] = _Claim(seal.seq, int(length), str(head))
        except (TypeError, ValueError):
            yield AuditProblem(None, SEAL_STREAM, f"seal {seal.seq} has malformed entries")
        previous, expected = seal.hash, seal.seq + 1


def _verify_rows(walk: _Walk, batch_size: int) -> Iterator[AuditProblem]:
    """Walk every stream in id order.

    Edited row: its hash no longer matches its content. Deleted row: the next row's
    prev_hash names a hash that is not the previous row's. Inserted row: its hash cannot be
    computed without the key, and the row after it points elsewhere. Reordered rows (ids or
    times swapped): the links no longer follow id order. A row that a seal recorded as the
    end of its stream must still be at that position.
    """
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        walk.stats.rows += 1
        stream = event.stream or "(none)"
        if not event.hash:
            yield AuditProblem(event.id, stream, "has no hash (written before the chain existed?)")
            continue
        expected_stream = stream_of(event.ticket_id, event.pattern_id)
        if event.stream != expected_stream:
            yield AuditProblem(event.id, stream, f"belongs to {expected_stream} (moved?)")
        walked = walk.streams.get(event.stream)
        if walked is None:
            walked = walk.streams[event.stream] = _Walked()
        if event.prev_hash != walked.head:
            yield AuditProblem(
                event.id,
                stream,
                "does not follow the previous row of its stream "
                "(a row before it was deleted, inserted or reordered)",
            )
        if not hmac.compare_digest(row_hash(event, event.prev_hash), event.hash):
            yield AuditProblem(event.id, stream, "content does not match its hash (edited)")
        if walked.time is not None and event.created_at < walked.time:
            yield AuditProblem(event.id, stream, "is older than the row before it (reordered)")
        walked.length += 1
        walked.head = event.hash
        walked.time = event.created_at
        claim = walk.claims.get(event.stream)
        if claim is not None and claim.length == walked.length and claim.head != event.hash:
            yield AuditProblem(
                event.id,
                stream,
                f"is row {walked.length} of its stream, but seal {claim.seq} recorded another "
                "row there (rows before it were deleted or replaced)",
            )
    walk.stats.streams = len(walk.streams)


def _cut(
    stream: str, walked: _Walked | None, recorded: int, head: str, by: str
) -> AuditProblem | None:
    """A problem when fewer rows remain of ``stream`` than ``by`` recorded (ending in
    ``head``)."""
    remaining = walked.length if walked is not None else 0
    if walked is None or remaining == 0:
        return AuditProblem(
            None, stream, f"{by} records {recorded} rows; none remain (the stream was deleted)"
        )
    if remaining >= recorded:
        return None
    where = " at its end" if walked.head != head else ""
    return AuditProblem(
        None,
        stream,
        f"{by} records {recorded} rows; {remaining} remain ({recorded - remaining} deleted{where})",
    )


def _verify_anchors(walk: _Walk, batch_size: int) -> Iterator[AuditProblem]:
    """Each stream's rows must end where its anchor says, and its anchor must carry the
    latest seal that recorded it; a stream without an anchor, or recorded by a seal but
    gone, was deleted."""
    for anchor in AuditAnchor.objects.order_by("id").iterator(chunk_size=batch_size):
        walk.stats.anchors += 1
        stream = anchor.stream
        walked = walk.streams.get(stream)
        if walked is not None:
            walked.anchored = True
        expected_mac = anchor_mac(
            stream, anchor.length, anchor.head_hash, anchor.sealed_seq, anchor.sealed_length
        )
        if not hmac.compare_digest(expected_mac, anchor.mac):
            yield AuditProblem(
                None, stream, "its anchor does not match its HMAC (edited or forged)"
            )
        cut = _cut(stream, walked, anchor.length, anchor.head_hash, "its anchor")
        if cut is not None:
            yield cut
        elif walked is not None and walked.length > anchor.length:
            yield AuditProblem(
                None,
                stream,
                f"{walked.length} rows, but its anchor records {anchor.length} (the anchor was "
                "put back to an older value, or rows were added past the audit trail)",
            )
        elif walked is not None and walked.head != anchor.head_hash:
            yield AuditProblem(
                None, stream, "its last row is not the one its anchor records (replaced)"
            )
        claim = walk.claims.pop(stream, None)
        if claim is not None:
            if (anchor.sealed_seq, anchor.sealed_length) != (claim.seq, claim.length):
                yield AuditProblem(
                    None,
                    stream,
                    f"seal {claim.seq} recorded {claim.length} rows, but its anchor carries "
                    f"seal {anchor.sealed_seq} at {anchor.sealed_length} rows (the anchor was "
                    "put back to an older value)",
                )
            cut = _cut(stream, walked, claim.length, claim.head, f"seal {claim.seq}")
            if cut is not None and (anchor.length, anchor.head_hash) != (
                claim.length,
                claim.head,
            ):
                yield cut
        elif anchor.sealed_seq:
            yield AuditProblem(
                None,
                stream,
                f"its anchor carries seal {anchor.sealed_seq}, which does not record it "
                "(seals were deleted)",
            )
    for stream, walked in walk.streams.items():
        if stream and not walked.anchored:
            yield AuditProblem(
                None, stream, f"{walked.length} rows but no anchor (the anchor was deleted)"
            )
    for stream, claim in walk.claims.items():  # recorded by a seal, and no anchor left
        walked = walk.streams.get(stream)
        cut = _cut(stream, walked, claim.length, claim.head, f"seal {claim.seq}")
        if cut is not None:
            yield cut
