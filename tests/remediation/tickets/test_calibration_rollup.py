"""The calibration rollup counts, by category, creation day and confidence bin, exactly the
concluded, analyzed tickets the lifecycle concluded: the same numbers as counting the
tickets themselves, which is what the AI factor's calibration read before."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from remediation.rules import bin_index
from remediation.scoring.services import concluded_analyzed
from remediation.tickets.models import CalibrationDailyStats, Ticket, TicketStatus
from remediation.tickets.transitions import ticket_transition
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _rollup() -> dict[tuple[str, int], tuple[int, int]]:
    return {
        (r.category, r.bin): (r.outcomes, r.successes)
        for r in CalibrationDailyStats.objects.all()
        if r.outcomes or r.successes
    }


def _counted() -> dict[tuple[str, int], tuple[int, int]]:
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for t in Ticket.objects.filter(concluded_analyzed()):
        n, s = out.get((t.category, bin_index(t.confidence_score)), (0, 0))
        out[(t.category, bin_index(t.confidence_score))] = (n + 1, s + (t.outcome == "success"))
    return out


def _step(ticket: Ticket, *steps: tuple) -> None:
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        for status, kwargs in steps:
            ticket_transition(locked, status, reason="test", **kwargs)


def test_the_lifecycle_keeps_the_rollup_equal_to_the_tickets_it_counts(user):
    fixed, failed, unanalyzed, held = (
        TicketFactory(
            submitted_by=user,
            category=category,
            status=TicketStatus.ANALYZED,
            analyzer=analyzer,
            confidence_score=confidence,
        )
        for category, analyzer, confidence in (
            ("server", "local", 0.85),
            ("server", "local", 0.82),
            ("network", "", 0.3),
            ("server", "local", 1.0),
        )
    )
    assert _rollup() == {}
    remediate = (TicketStatus.REMEDIATING, {"executed": True})
    _step(fixed, remediate, (TicketStatus.RESOLVED, {"outcome": "success"}))
    _step(failed, remediate, (TicketStatus.FAILED, {"outcome": "failure"}))
    _step(unanalyzed, remediate, (TicketStatus.RESOLVED, {"outcome": "success"}))
    _step(held, remediate, (TicketStatus.RESOLVED, {"outcome": "success"}))
    assert _rollup() == {("server", 8): (2, 1), ("server", 9): (1, 1)}
    # A measured fix that did not hold: success -> failure moves it within its bin.
    _step(held, (TicketStatus.FAILED, {"outcome": "failure"}))
    assert _rollup() == {("server", 8): (2, 1), ("server", 9): (1, 0)}
    assert _rollup() == _counted()
    # Every row is the day the ticket was created.
    assert set(CalibrationDailyStats.objects.values_list("day", flat=True)) == {
        timezone.localdate(fixed.created_at)
    }
