"""Storm control: the hook ``ticket_create`` calls before it inserts a ticket.

``storm_claim`` runs inside the intake transaction. It takes a row lock on the incident's
``StormTrack`` (one row per pattern signature + target), so that concurrent submissions of
the same incident (20 deliveries of one alert batch, two integrations re-sending a ticket)
serialize: the first creates the ticket, each later one finds it open and joins it. The
lock is held to the end of the intake transaction, which also holds the new ticket, so no
submission can see the key without its ticket.

A submission without an affected system is never joined: without a target two tickets
with the same words may be about different machines. A submission joins only tickets of
the same submitter (the key names it), only while the ticket is younger than
``STORM_MAX_OPEN_SECONDS``, and only when it asks for no more than the ticket has (see
``rules.storm``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.errors import Conflict
from patterns.rules.signature import signature_for
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.tickets import outcomes
from remediation.tickets.models import (
    RepeatReason,
    StormTrack,
    Ticket,
    TicketOutcome,
    TicketRepeat,
    TicketStatus,
)
from remediation.tickets.rules import lifecycle
from remediation.tickets.rules.storm import (
    StormState,
    Verdict,
    asks_for_more,
    normalize_target,
    storm_key,
    storm_verdict,
)

# Statuses after which a ticket no longer absorbs repeats: the incident is over.
CLOSED_STATUSES = frozenset({TicketStatus.RESOLVED, TicketStatus.FAILED})


def ticket_is_open(ticket: Ticket) -> bool:
    """Does ``ticket`` still collect repeats of its incident?

    Not once it ended (resolved, failed), nor once a person concluded it: a ticket waiting
    on a person (manual review, analyzed) whose outcome a trusted verdict decided (say
    "the suggestion was wrong", after fixing it by hand) stays in that status, but a new
    occurrence days later is a new incident, not a repeat to hide in it.
    """
    if ticket.status in CLOSED_STATUSES:
        return False
    concluded = ticket.status in lifecycle.PERSON_DECIDES and (
        ticket.outcome != TicketOutcome.UNKNOWN
    )
    return not concluded


@dataclass
class StormClaim:
    """What ``storm_claim`` decided: ``joined`` is the ticket the submission became part
    of, or None when a new ticket is to be created (then ``track`` is to be registered)."""

    track: StormTrack | None
    joined: Ticket | None
    window_started_at: datetime | None = None
    window_tickets: int = 0


def storm_claims(affected_system: str) -> bool:
    """Does a submission naming ``affected_system`` need ``storm_claim`` (a lock and a
    read)? Not when storm control is off, nor without a target: such a ticket is never
    joined, so intake needs no transaction of its own for it."""
    return bool(settings.STORM_CONTROL_ENABLED and normalize_target(affected_system))


def storm_claim(
    *,
    ticket_id: str,
    category: str,
    title: str,
    description: str,
    affected_system: str,
    source: str,
    acting_user: User,
    severity: str = "medium",
    auto_remediation: bool = False,
) -> StormClaim:
    """Lock the incident's storm row and decide: create a ticket, or join an existing one.

    Must run inside the intake transaction. Raises ``Conflict`` when ``ticket_id`` already
    joined a ticket earlier (a ticket_id names one submission, as for tickets themselves).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("storm_claim() must run inside the intake transaction")
    # Untargeted tickets cost intake no query at all (they are never joined).
    if not storm_claims(affected_system):
        return StormClaim(track=None, joined=None)
    target = normalize_target(affected_system)
    earlier = (
        TicketRepeat.objects.select_related("ticket").filter(submitted_ticket_id=ticket_id).first()
    )
    if earlier is not None:
        raise Conflict(
            f"ticket_id {ticket_id!r} already joined ticket {earlier.ticket.ticket_id!r}.",
            code="duplicate_ticket",
            fields={"ticket_id": [f"Already joined ticket {earlier.ticket.ticket_id}."]},
        )

    pattern_hash = signature_for(category, title, description).hash
    key = storm_key(pattern_hash, target, acting_user.pk)
    # INSERT ... ON CONFLICT DO NOTHING, then lock: a concurrent first insert of the same key
    # waits for the other transaction instead of failing.
    StormTrack.objects.bulk_create(
        [StormTrack(key=key, pattern_hash=pattern_hash, target=target[:200])],
        ignore_conflicts=True,
    )
    track = StormTrack.objects.select_for_update().get(key=key)
    # One read for both: is ticket_id already taken (the caller's duplicate: 409 from the
    # insert, never a repeat of itself), and the key's newest ticket. A key with no ticket
    # (a new one) can only say "create": a duplicate ticket_id then fails the insert (409)
    # as it would anyway, so intake skips the read.
    found: list[Ticket] = []
    if track.ticket_id is not None:
        found = list(Ticket.objects.filter(Q(ticket_id=ticket_id) | Q(pk=track.ticket_id)))
    if any(t.ticket_id == ticket_id for t in found):
        return StormClaim(track=None, joined=None)
    head = next((t for t in found if t.pk == track.ticket_id), None)
    now = timezone.now()
    if head is not None and outcomes.on_hold(head, now):
        # The incident is back while its measured fix was still on hold: it did not hold.
        head = Ticket.objects.select_for_update().get(pk=head.pk)
        if outcomes.on_hold(head, now):
            age = int((now - head.resolved_at).total_seconds()) if head.resolved_at else 0
            outcomes.fix_did_not_hold(
                head, why=f"{ticket_id} ({source}) reported it again {age} s after the fix"
            )
    outcome = storm_verdict(
        StormState(
            has_ticket=head is not None,
            ticket_open=head is not None and ticket_is_open(head),
            window_started_at=track.window_started_at,
            window_tickets=track.window_tickets,
            ticket_opened_at=head.created_at if head is not None else None,
            submission_stronger=head is not None
            and asks_for_more(
                severity=severity,
                auto_remediation=auto_remediation,
                ticket_severity=head.severity,
                ticket_auto_remediation=head.auto_remediation_enabled,
            ),
        ),
        now=now,
        window=timedelta(seconds=int(settings.STORM_WINDOW_SECONDS)),
        limit=int(settings.STORM_MAX_TICKETS_PER_WINDOW),
        max_open=timedelta(seconds=int(settings.STORM_MAX_OPEN_SECONDS)),
    )
    if outcome.verdict == Verdict.CREATE or head is None:
        return StormClaim(
            track=track,
            joined=None,
            window_started_at=outcome.window_started_at,
            window_tickets=outcome.window_tickets,
        )
    reason = RepeatReason.OPEN if outcome.verdict == Verdict.JOIN_OPEN else RepeatReason.LIMIT
    return StormClaim(
        track=track,
        joined=_join(head, ticket_id=ticket_id, source=source, reason=reason, user=acting_user),
    )


def storm_register(claim: StormClaim, ticket: Ticket) -> None:
    """Record ``ticket`` as the newest ticket of the claimed incident (same transaction)."""
    if claim.track is None:
        return
    claim.track.ticket = ticket
    claim.track.window_started_at = claim.window_started_at
    claim.track.window_tickets = claim.window_tickets
    claim.track.save(update_fields=["ticket", "window_started_at", "window_tickets", "updated_at"])


def _join(head: Ticket, *, ticket_id: str, source: str, reason: str, user: User) -> Ticket:
    now = timezone.now()
    # F(): other writers (analysis, decision) save this ticket without locking the storm row.
    Ticket.objects.filter(pk=head.pk).update(
        repeat_count=F("repeat_count") + 1, last_repeat_at=now, updated_at=now
    )
    head.refresh_from_db(fields=["repeat_count", "last_repeat_at", "updated_at", "status"])
    TicketRepeat.objects.create(
        ticket=head, submitted_ticket_id=ticket_id, source=source, reason=reason, submitted_by=user
    )
    why = (
        "it is still open"
        if reason == RepeatReason.OPEN
        else f"the limit of {settings.STORM_MAX_TICKETS_PER_WINDOW} tickets per "
        f"{settings.STORM_WINDOW_SECONDS} s for this pattern and target is reached"
    )
    audit(
        AuditAction.REPEAT_JOINED,
        f"{ticket_id} ({source}) joined this ticket as repeat {head.repeat_count}: {why}",
        ticket=head,
        acting_user=user,
        details={
            "submitted_ticket_id": ticket_id,
            "source": source,
            "reason": reason,
            "repeat_count": head.repeat_count,
        },
    )
    return head
