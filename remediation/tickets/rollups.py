"""Keeping ``CategoryDailyStats`` in step with the events that change it.

Each function adds deltas to one (category, day) row with a conditional ``UPDATE ... SET
x = x + delta``, so concurrent workers never lose each other's increments (a read-modify-
write would). The row is created on first use with ``INSERT ... ON CONFLICT DO NOTHING``
(``bulk_create(ignore_conflicts=True)``), which cannot fail when another worker creates the
same row at the same moment, unlike ``get_or_create``/``update_or_create``, which race and
raise ``IntegrityError``.

Callers run these inside the transaction of the change they record, so a rolled-back
change never leaves its increment behind.

Buckets: ticket counts, outcomes and reliability go to the day the ticket was created (in
``settings.TIME_ZONE``), so a ticket's numbers stay on one row whenever they change;
feedback goes to the day the caller names (the day the feedback was given), which is what
recency weighting measures.

``CalibrationDailyStats`` counts the concluded (success or failure), analyzed tickets by
category, creation day and confidence bin: what the AI factor's calibration reads.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import F
from django.utils import timezone

from remediation.rules import bin_index
from remediation.tickets.models import (
    CalibrationDailyStats,
    CategoryDailyStats,
    Ticket,
    TicketOutcome,
)

FEEDBACK_COUNTERS = {
    "positive": "positive_count",
    "negative": "negative_count",
    "neutral": "neutral_count",
}
OUTCOME_COUNTERS = {
    TicketOutcome.SUCCESS: "success_count",
    TicketOutcome.FAILURE: "failure_count",
}


def ticket_day(ticket: Ticket) -> date:
    """The rollup day of a ticket: its creation day in the configured time zone."""
    return timezone.localdate(ticket.created_at)


def _add(category: str, day: date, deltas: dict[str, int | float]) -> None:
    deltas = {field: delta for field, delta in deltas.items() if delta}
    if not deltas:
        return
    rows = CategoryDailyStats.objects.filter(category=category, day=day)
    changes = {field: F(field) + delta for field, delta in deltas.items()}
    # Most events land on an existing row: try the update first, create only when needed.
    if rows.update(**changes):
        return
    CategoryDailyStats.objects.bulk_create(
        [CategoryDailyStats(category=category, day=day)], ignore_conflicts=True
    )
    rows.update(**changes)


def record_ticket_analyzed(ticket: Ticket) -> None:
    """Count an analyzed ticket and its confidence. Call once per ticket, when its analysis
    is stored (a re-run of the analysis task must not call it again)."""
    _add(
        ticket.category,
        ticket_day(ticket),
        {"tickets": 1, "confidence_sum": float(ticket.confidence_score)},
    )


def record_investigation(ticket: Ticket, record: dict[str, Any]) -> None:
    """Count one investigation: its calls, the calls that failed, its duration, and whether
    the platform could not be asked at all ("failed") or did not know the name. Call once per
    ticket, when its analysis is stored."""
    raw = record.get("calls")
    calls: list[Any] = raw if isinstance(raw, list) else []
    status = record.get("status")
    if status == "skipped" and not calls:
        return  # nothing was looked at: not an investigation
    _add(
        ticket.category,
        ticket_day(ticket),
        {
            "investigations": 1,
            "investigations_failed": int(status in ("failed", "not_found")),
            "investigation_calls": len(calls),
            "investigation_call_errors": sum(1 for c in calls if not c.get("ok")),
            "investigation_seconds_sum": max(0.0, float(record.get("duration_ms") or 0) / 1000),
        },
    )


def record_outcome_change(ticket: Ticket, old: str, new: str) -> None:
    """Move the ticket between the success and failure counts of its day (``unknown``
    counts in neither)."""
    if old == new:
        return
    deltas: dict[str, int | float] = {}
    if old in OUTCOME_COUNTERS:
        deltas[OUTCOME_COUNTERS[TicketOutcome(old)]] = -1
    if new in OUTCOME_COUNTERS:
        deltas[OUTCOME_COUNTERS[TicketOutcome(new)]] = 1
    _add(ticket.category, ticket_day(ticket), deltas)


def record_feedback(*, category: str, day: date, feedback_type: str, rating: int) -> None:
    """Count one feedback of ``feedback_type`` (positive/negative/neutral) rated 1-5."""
    counter = FEEDBACK_COUNTERS.get(str(feedback_type))
    if counter is None:
        raise ValueError(f"Unknown feedback type {feedback_type!r}")
    _add(category, day, {"feedback_count": 1, counter: 1, "rating_sum": int(rating)})


def record_reliability_change(ticket: Ticket, old: float | None, new: float | None) -> None:
    """Replace the ticket's reliability score in its day's sum (``None``: not scored)."""
    if old == new:
        return
    deltas: dict[str, int | float] = {"reliability_sum": (new or 0.0) - (old or 0.0)}
    if old is None:
        deltas["reliability_count"] = 1
    elif new is None:
        deltas["reliability_count"] = -1
    _add(ticket.category, ticket_day(ticket), deltas)


# (category, day, bin, succeeded) of a ticket the calibration counts; None when it does not.
CalibrationKey = tuple[str, date, int, bool]


def calibration_key(ticket: Ticket, outcome: str | None = None) -> CalibrationKey | None:
    """Where ``ticket`` counts in the calibration rollup (with ``outcome`` instead of its
    own, when given): concluded and analyzed (an analyzer named), else nowhere."""
    outcome = str(ticket.outcome if outcome is None else outcome)
    if outcome not in OUTCOME_COUNTERS or not ticket.analyzer:
        return None
    return (
        str(ticket.category),
        ticket_day(ticket),
        bin_index(float(ticket.confidence_score)),
        outcome == TicketOutcome.SUCCESS,
    )


def _add_calibration(key: CalibrationKey, sign: int) -> None:
    category, day, bin_, succeeded = key
    rows = CalibrationDailyStats.objects.filter(category=category, day=day, bin=bin_)
    changes = {"outcomes": F("outcomes") + sign}
    if succeeded:
        changes["successes"] = F("successes") + sign
    if rows.update(**changes):
        return
    CalibrationDailyStats.objects.bulk_create(
        [CalibrationDailyStats(category=category, day=day, bin=bin_)], ignore_conflicts=True
    )
    rows.update(**changes)


def record_calibration_change(old: CalibrationKey | None, new: CalibrationKey | None) -> None:
    """Move a ticket in the calibration rollup from ``old`` to ``new`` (``calibration_key``
    before and after its change; None: not counted)."""
    if old == new:
        return
    if old is not None:
        _add_calibration(old, -1)
    if new is not None:
        _add_calibration(new, 1)
