"""Outcomes that measure correctness: a fix is confirmed later, not only by its post-checks.

An execution's post-checks say the fault was gone a moment after the write. A fix that
"worked" and came back within ``OUTCOME_HOLD_SECONDS`` did not fix it: the ticket moves
from ``resolved`` (success) to ``failed`` (failure), the pattern counts a failure instead of
a success (the one outcome change the lifecycle allows, ``DID_NOT_HOLD``), and the audit
trail says why. It came back when

* the same incident is reported again by the same sender (a new firing of the alert, the
  same ticket again) within the hold time: storm control notices it at intake; or
* the delayed re-check at the end of the hold time (``execution.services.fix_confirm``)
  still sees an alert of the ticket firing, or sees the observed cause again.

The environment confirms or refutes it, too: when every alert of the ticket has resolved
after the remediation started (Alertmanager's resolved notification), the fix is confirmed
at once (``fix_held_at``, ``fix_held_by`` ``alert_resolved``, audit
``ticket.fix_confirmed_by_alert``: the evidence is the alert resolving). That confirmation
stays refutable until the hold time ends: the alert firing again within it fails the fix
as above. Otherwise the re-check marks the fix as held (``fix_held_by`` ``recheck``). A
success a person confirmed by hand is never moved: nothing measured it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.tickets.models import FixEvidence, Ticket, TicketOutcome, TicketStatus
from remediation.tickets.transitions import ticket_transition

# Who hears of a fix confirmed or refuted, besides the audit trail: called as
# ``announce(ticket, key=..., event=..., detail=...)`` inside the transaction that records it.
Announce = Callable[..., object]
_announcers: list[Announce] = []


def announce_with(announce: Announce) -> None:
    """Have ``announce`` told of every confirmation and refutation (once per callable)."""
    if announce not in _announcers:
        _announcers.append(announce)


def _announce(ticket: Ticket, *, key: str, event: str, detail: str) -> None:
    for announce in _announcers:
        announce(ticket, key=key, event=event, detail=detail)


def _fix_key(ticket: Ticket) -> str:
    """One measured fix: the ticket and when it was resolved (a ticket fixed again later is
    another fix, with its own confirmation or refutation)."""
    return f"{ticket.pk}:{ticket.resolved_at.isoformat() if ticket.resolved_at else ''}"


def hold() -> timedelta:
    return timedelta(seconds=int(settings.OUTCOME_HOLD_SECONDS))


def measured_success(ticket: Ticket) -> bool:
    """A success measured by an execution (not one a person confirmed by hand)."""
    return (
        ticket.status == TicketStatus.RESOLVED
        and ticket.outcome == TicketOutcome.SUCCESS
        and ticket.auto_remediation_executed
        and ticket.resolved_at is not None
    )


def on_hold(ticket: Ticket, now: datetime | None = None) -> bool:
    """A fix measured by an execution, still within its hold time: not confirmed by the
    re-check yet (a confirmation by its alert resolving stays refutable until then)."""
    if hold() <= timedelta(0) or ticket.fix_held_by == FixEvidence.RECHECK:
        return False
    if not measured_success(ticket) or ticket.resolved_at is None:
        return False
    return (now or timezone.now()) - ticket.resolved_at < hold()


def fix_did_not_hold(ticket: Ticket, *, why: str) -> None:
    """The measured fix came back: failed, a failure for the pattern (counted by the
    transition), audited, and its Slack message told. ``ticket`` is the locked instance,
    inside the transaction that holds its row lock; the caller has checked ``on_hold``."""
    confirmed_by = ticket.fix_held_by
    key = f"did-not-hold:{_fix_key(ticket)}"
    # A confirmation by its alert resolving is refuted: the ticket no longer says it held.
    ticket.fix_held_at, ticket.fix_held_by = None, ""
    ticket_transition(
        ticket,
        TicketStatus.FAILED,
        outcome=TicketOutcome.FAILURE,
        executed=True,
        reason=f"The fix did not hold: {why}",
        extra_fields=("fix_held_at", "fix_held_by"),
    )
    audit(
        AuditAction.FIX_DID_NOT_HOLD,
        f"The fix did not hold: {why}",
        ticket=ticket,
        details={
            "why": why,
            "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
            "refutes": confirmed_by or None,
        },
    )
    # Its approval message in Slack (if any) says so, in place and in its thread.
    _announce(ticket, key=key, event="did_not_hold", detail=why)


def fix_held(ticket: Ticket, *, how: str) -> None:
    """Nothing came back within the hold time: the measured success stands, confirmed."""
    ticket.fix_held_at = timezone.now()
    ticket.fix_held_by = FixEvidence.RECHECK
    ticket.save(update_fields=["fix_held_at", "fix_held_by", "updated_at"])
    audit(
        AuditAction.FIX_HELD,
        f"The fix held for {int(hold().total_seconds())} s: {how}",
        ticket=ticket,
        details={"how": how},
    )
    _announce(ticket, key=f"held:{_fix_key(ticket)}", event="held", detail=how)


def fix_confirm_by_alerts(ticket: Ticket) -> bool:
    """The environment's confirmation: every alert behind the ticket has resolved, the last
    one after the remediation started, and the fix was measured by an execution. Then the
    fix holds from now on (``fix_held_by`` ``alert_resolved``), audited with the alert that
    resolved as the evidence; the hold time can still refute it. ``ticket`` is the locked
    instance, inside the transaction that holds its row lock. False when nothing confirms
    (an alert still firing, an alert that resolved by itself before the remediation, a fix
    not measured, or one already confirmed)."""
    if not measured_success(ticket) or ticket.fix_held_at is not None:
        return False
    started = ticket.remediation_started_at or ticket.resolved_at
    records = list(ticket.alerts.all())  # type: ignore[attr-defined]
    if not records or started is None or any(r.status != "resolved" for r in records):
        return False
    last = max(records, key=lambda r: _ended(r))
    ended = _ended(last)
    if ended < started:
        return False  # it went away before anything was done: no evidence of the fix
    now = timezone.now()
    ticket.fix_held_at = now
    ticket.fix_held_by = FixEvidence.ALERT_RESOLVED
    ticket.save(update_fields=["fix_held_at", "fix_held_by", "updated_at"])
    name = str((last.labels or {}).get("alertname", ""))
    after = int((ended - started).total_seconds())
    details: dict[str, Any] = {
        "evidence": "alert_resolved",
        "alert": last.key,
        "alertname": name,
        "alerts": len(records),
        "ended_at": ended.isoformat(),
        "remediation_started_at": started.isoformat(),
        "seconds_after_remediation": after,
        "hold_seconds": int(hold().total_seconds()),
    }
    audit(
        AuditAction.FIX_CONFIRMED_BY_ALERT,
        f"The environment confirmed the fix: alert {name} resolved {after} s after the "
        "remediation started"
        + (
            f"; it fails if the alert fires again within {details['hold_seconds']} s"
            if details["hold_seconds"]
            else ""
        ),
        ticket=ticket,
        details=details,
    )
    _announce(
        ticket,
        key=f"alert-confirmed:{_fix_key(ticket)}",
        event="held",
        detail="its alert resolved after the fix (confirmed by the environment)",
    )
    return True


def _ended(record: Any) -> datetime:
    """When an alert stopped: the sender's endsAt, never later than when its resolution
    arrived (an end time in the future proves nothing)."""
    received = record.resolved_at or timezone.now()
    return min(record.ends_at, received) if record.ends_at else received
