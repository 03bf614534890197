"""Writes for alert intake: one firing or resolved alert at a time, each in its own
transaction, so that one alert that cannot be stored never loses the rest of its batch.

A firing alert is identified by ``key`` (its ticket_id: fingerprint + startsAt). Its
``AlertRecord`` row is inserted first (or found) and locked: 20 concurrent deliveries of the
same batch serialize on it, the first one creates or joins a ticket through
``ticket_create`` (storm control included), the others only count a delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.errors import ApplicationError
from remediation.alerts.models import AlertRecord, AlertStatus
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.tickets import outcomes
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.services import TicketInput, ticket_create


class Outcome:
    CREATED = "created"  # a new ticket
    JOINED = "joined"  # joined an open ticket of the same pattern and target (storm control)
    DUPLICATE = "duplicate"  # this firing was received before: a delivery is counted
    RESOLVED = "resolved"  # the alert's ticket is annotated
    UNKNOWN = "unknown"  # a resolution for a firing never received: nothing to annotate
    REJECTED = "rejected"  # could not become a ticket; see the errors


ALERT_OUTCOMES = [
    (Outcome.CREATED, "A new ticket"),
    (Outcome.JOINED, "Joined an open ticket"),
    (Outcome.DUPLICATE, "Received before"),
    (Outcome.RESOLVED, "Resolution noted on the ticket"),
    (Outcome.UNKNOWN, "No ticket for this alert"),
    (Outcome.REJECTED, "Could not become a ticket"),
]


@dataclass(frozen=True)
class FiringAlert:
    key: str
    fingerprint: str
    starts_at: datetime
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    ticket: TicketInput


@dataclass(frozen=True)
class AlertResult:
    outcome: str
    ticket_id: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def _records() -> Any:
    # Lock the record only, not its ticket: other writers lock tickets in their own order.
    return AlertRecord.objects.select_related("ticket").select_for_update(of=("self",))


def alert_redeliver(key: str, *, acting_user: User) -> AlertResult | None:
    """Count a delivery of a firing already received from this sender; None when it is new.

    Most deliveries in a storm are re-deliveries: this answers them without mapping the
    alert or locking anything but its record."""
    with transaction.atomic():
        record = _records().filter(key=key, submitted_by=acting_user).first()
        if record is None or record.ticket is None:
            return None
        record.deliveries += 1
        record.save(update_fields=["deliveries", "last_received_at"])
        return AlertResult(Outcome.DUPLICATE, record.ticket.ticket_id)


def alert_fire(alert: FiringAlert, *, receiver: str, acting_user: User) -> AlertResult:
    try:
        with transaction.atomic():
            return _fire(alert, receiver=receiver, acting_user=acting_user)
    except ApplicationError as exc:
        return AlertResult(Outcome.REJECTED, errors=exc.fields or {"": [exc.message]})


def _fire(alert: FiringAlert, *, receiver: str, acting_user: User) -> AlertResult:
    # Most deliveries of a storm are re-deliveries: find and lock the record first, and only
    # when there is none, INSERT ... ON CONFLICT DO NOTHING and lock. A concurrent delivery of
    # the same alert waits on the insert until the first has committed its ticket, then
    # sees it.
    records = _records()
    record = records.filter(key=alert.key).first()
    if record is None:
        AlertRecord.objects.bulk_create(
            [
                AlertRecord(
                    key=alert.key,
                    fingerprint=alert.fingerprint,
                    starts_at=alert.starts_at,
                    labels=alert.labels,
                    annotations=alert.annotations,
                    generator_url=alert.generator_url,
                    receiver=receiver[:200],
                    submitted_by=acting_user,
                )
            ],
            ignore_conflicts=True,
        )
        record = records.get(key=alert.key)
    record.deliveries += 1
    if record.ticket is not None:
        record.save(update_fields=["deliveries", "last_received_at"])
        return AlertResult(Outcome.DUPLICATE, record.ticket.ticket_id)

    intake = ticket_create(alert.ticket, acting_user=acting_user)
    ticket = intake.ticket
    record.ticket = ticket
    record.save(update_fields=["ticket", "deliveries", "last_received_at"])
    _refute_earlier_fixes(alert, record, acting_user=acting_user)
    if not intake.joined:
        return AlertResult(Outcome.CREATED, ticket.ticket_id)
    if ticket.alert_resolved_at is not None:
        # Its alerts had all resolved; this one fires again, so the note no longer holds.
        Ticket.objects.filter(pk=ticket.pk).update(
            alert_resolved_at=None, updated_at=timezone.now()
        )
        audit(
            AuditAction.ALERT_FIRING,
            f"Alert {alert.labels.get('alertname', '')} fires again ({alert.key})",
            ticket=ticket,
            acting_user=acting_user,
            details={"alert": alert.key, "fingerprint": alert.fingerprint},
        )
    return AlertResult(Outcome.JOINED, ticket.ticket_id)


def _refute_earlier_fixes(alert: FiringAlert, record: AlertRecord, *, acting_user: User) -> None:
    """The same alert (fingerprint) from the same sender fires again: a measured fix of an
    earlier firing that is still within its hold time did not hold, whatever confirmed it
    meanwhile. Storm control usually notices first (the same incident reported again); this
    reads the alert itself, so a changed annotation or storm control switched off cannot
    hide it. Runs after ``ticket_create`` (storm row, then tickets: the lock order of every
    intake)."""
    now = timezone.now()
    earlier = (
        AlertRecord.objects.filter(
            fingerprint=alert.fingerprint, submitted_by=acting_user, starts_at__lt=alert.starts_at
        )
        .exclude(ticket=record.ticket)
        .exclude(ticket__isnull=True)
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    for ticket_pk in sorted(set(earlier)):
        ticket = Ticket.objects.select_for_update().get(pk=ticket_pk)
        if not outcomes.on_hold(ticket, now):
            continue
        age = int((now - ticket.resolved_at).total_seconds()) if ticket.resolved_at else 0
        name = alert.labels.get("alertname", "")
        why = f"its alert {name} fired again ({alert.key}) {age} s after the fix"
        outcomes.fix_did_not_hold(ticket, why=why)


def alert_resolve(
    fingerprint: str, starts_at: datetime, *, ends_at: datetime | None, acting_user: User
) -> AlertResult:
    """Note that a firing resolved, on its ticket.

    Only the identity that fired it (or staff) may: anyone else gets the answer an unknown
    alert gets, and nothing changes, so a token can neither resolve another sender's alert
    nor learn whether a fingerprint exists."""
    legacy = Q(submitted_by__isnull=True, ticket__submitted_by=acting_user)
    mine = Q(submitted_by=acting_user) | legacy
    with transaction.atomic():
        records = AlertRecord.objects.select_for_update(of=("self",)).filter(
            fingerprint=fingerprint, starts_at=starts_at, ticket__isnull=False
        )
        if not getattr(acting_user, "is_staff", False):
            records = records.filter(mine)
        record = records.order_by("id").first()
        if record is None or record.ticket_id is None:
            return AlertResult(Outcome.UNKNOWN)
        key = record.key
        record.deliveries += 1
        ticket = Ticket.objects.select_for_update().get(pk=record.ticket_id)
        if record.status == AlertStatus.RESOLVED:
            record.save(update_fields=["deliveries", "last_received_at"])
            return AlertResult(Outcome.DUPLICATE, ticket.ticket_id)
        now = timezone.now()
        record.status = AlertStatus.RESOLVED
        record.ends_at = ends_at
        record.resolved_at = now
        record.save(
            update_fields=["status", "ends_at", "resolved_at", "deliveries", "last_received_at"]
        )
        firing = AlertRecord.objects.filter(ticket=ticket, status=AlertStatus.FIRING).count()
        name = record.labels.get("alertname", "")
        details: dict[str, Any] = {
            "alert": key,
            "fingerprint": record.fingerprint,
            "ends_at": ends_at.isoformat() if ends_at else None,
            "still_firing": firing,
            "status": ticket.status,
        }
        if firing:
            message = f"Alert {name} resolved ({key}); {firing} more still firing"
        else:
            ticket.alert_resolved_at = now
            ticket.save(update_fields=["alert_resolved_at", "updated_at"])
            message = (
                f"Alert {name} resolved after the remediation"
                if outcomes.measured_success(ticket)
                else f"Alert {name} resolved by itself"
            )
            if ticket.status == TicketStatus.AWAITING_APPROVAL:
                message += (
                    " while the ticket awaits approval: check the remediation is still needed"
                )
        audit(
            AuditAction.ALERT_RESOLVED,
            message,
            ticket=ticket,
            acting_user=acting_user,
            details=details,
        )
        # The environment's measure of a fix: its alert went away after the remediation.
        if not firing:
            outcomes.fix_confirm_by_alerts(ticket)
        return AlertResult(Outcome.RESOLVED, ticket.ticket_id)
