"""Eligibility holds against measured outcomes, not against how many people rated.

A pattern's "positive" threshold (PATTERN_MIN_POSITIVE_RATE, and a policy's
``min_positive_feedback_rate``) is the share of its concluded tickets that succeeded: the
measured outcome when something ran, a trusted person's verdict otherwise. Fixes measured to
hold earn eligibility with no rating at all; one that did not hold takes it away again.
"""

from __future__ import annotations

import pytest

from patterns.models import Pattern
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import TicketOutcome, TicketStatus
from tests.support.factories import PatternFactory, TicketFactory, move

pytestmark = pytest.mark.django_db


def ran_and_succeeded(pattern: Pattern, score: float = 90.0):
    ticket = TicketFactory(
        pattern=pattern, status=TicketStatus.REMEDIATING, reliability_score=score
    )
    return move(ticket, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS, executed=True)


def test_fixes_measured_to_hold_earn_eligibility_without_a_rating():
    pattern = PatternFactory(category="server", occurrence_count=6)
    pattern.refresh_from_db()
    assert not pattern.eligible_for_auto_remediation  # nothing concluded: no evidence
    for _ in range(5):
        ran_and_succeeded(pattern)
    pattern.refresh_from_db()
    assert pattern.positive_feedback_count == 0  # nobody rated anything
    assert pattern.positive_outcome_rate == 1.0
    assert pattern.eligible_for_auto_remediation
    event = AuditEvent.objects.get(pattern=pattern, action=AuditAction.PATTERN_ELIGIBILITY_CHANGED)
    assert "Positive outcomes 100% of concluded tickets" in event.message


def test_a_fix_that_did_not_hold_takes_eligibility_away():
    pattern = PatternFactory(category="server", occurrence_count=6)
    tickets = [ran_and_succeeded(pattern) for _ in range(6)]
    pattern.refresh_from_db()
    assert pattern.eligible_for_auto_remediation
    # The hold-time re-check saw the cause again: resolved -> failed, a failure of the pattern.
    move(tickets[-1], TicketStatus.FAILED, outcome=TicketOutcome.FAILURE)
    pattern.refresh_from_db()
    assert (pattern.success_count, pattern.failure_count) == (5, 1)
    assert round(pattern.positive_outcome_rate, 3) == 0.833
    assert not pattern.eligible_for_auto_remediation
    event = AuditEvent.objects.filter(
        pattern=pattern, action=AuditAction.PATTERN_ELIGIBILITY_CHANGED
    ).latest("id")
    assert "Positive outcomes 83% of concluded tickets, needs 85%" in event.message


def test_no_concluded_ticket_is_no_evidence():
    pattern = PatternFactory(category="server", occurrence_count=50, positive_feedback_count=9)
    assert pattern.positive_outcome_rate == 0.0


def test_the_average_reliability_is_over_the_latest_concluded_tickets(settings):
    """The first tickets of a pattern are scored before the category has any history; once
    ten newer ones concluded, their low scores no longer hold the average down (and a
    recompute from the tickets gives the same numbers)."""
    from feedback.rebuild.services import patterns_recompute

    pattern = PatternFactory(category="server", occurrence_count=14)  # its 14 tickets
    for _ in range(4):
        ran_and_succeeded(pattern, score=20.0)
    for _ in range(9):
        ran_and_succeeded(pattern, score=90.0)
    pattern.refresh_from_db()
    assert pattern.avg_reliability_score == pytest.approx((20.0 + 9 * 90.0) / 10)
    assert not pattern.eligible_for_auto_remediation
    ran_and_succeeded(pattern, score=90.0)
    pattern.refresh_from_db()
    assert pattern.avg_reliability_score == 90.0
    assert pattern.eligible_for_auto_remediation
    incremental = Pattern.objects.values().get(pk=pattern.pk)
    patterns_recompute()
    assert Pattern.objects.values().get(pk=pattern.pk) == incremental

    # Over every concluded ticket (the window off), the early scores still count.
    settings.PATTERN_RELIABILITY_WINDOW = 0
    patterns_recompute()
    pattern.refresh_from_db()
    assert pattern.avg_reliability_score == pytest.approx((4 * 20.0 + 10 * 90.0) / 14)
    assert not pattern.eligible_for_auto_remediation


def test_a_new_occurrence_does_not_read_the_tickets_scores_again():
    """Only a change of a concluded ticket's score moves the windowed average: a new
    occurrence (every analysis) keeps the stored average without reading the tickets."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from patterns.services import occurrence_added, pattern_update

    pattern = PatternFactory(category="server", occurrence_count=1)
    ran_and_succeeded(pattern, score=90.0)
    pattern.refresh_from_db()
    assert pattern.avg_reliability_score == 90.0
    with CaptureQueriesContext(connection) as ctx:
        pattern_update(pattern, occurrence_added(0.9, timezone.now()))
    assert not [q for q in ctx.captured_queries if '"remediation_ticket"' in q["sql"]]
    pattern.refresh_from_db()
    assert (pattern.occurrence_count, pattern.avg_reliability_score) == (2, 90.0)
