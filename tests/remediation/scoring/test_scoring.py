"""Scoring a ticket from the rollups and its pattern, and keeping the rollups in step."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feedback.rebuild.services import patterns_recompute
from patterns.models import Pattern
from patterns.services import pattern_observe
from remediation.audit.models import AuditAction, AuditEvent
from remediation.scoring.rules import FEEDBACK_HORIZON_DAYS, SUCCESS_HISTORY_WINDOW_DAYS
from remediation.scoring.services import score_ticket
from remediation.tickets import rollups
from remediation.tickets.models import CategoryDailyStats, Ticket, TicketOutcome, TicketStatus
from tests.support.factories import TicketFactory, move

TITLE = "Nginx upstream timeout"
DESCRIPTION = "Gateway returns 504 upstream timeout from nginx on the web tier"


def _row(category="web", day=None) -> CategoryDailyStats:
    return CategoryDailyStats.objects.get(category=category, day=day or timezone.localdate())


def _ticket(user, *, confidence=0.8, pattern=None, category="web", outcome="unknown") -> Ticket:
    ticket = TicketFactory(
        submitted_by=user,
        category=category,
        outcome=outcome,
        title=TITLE,
        description=DESCRIPTION,
        confidence_score=confidence,
        pattern=pattern,
    )
    with transaction.atomic():
        rollups.record_ticket_analyzed(ticket)
    return ticket


def _score(ticket: Ticket):
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        result = score_ticket(locked)
    ticket.refresh_from_db()
    return result


def _observe(category="web", confidence=0.9) -> Pattern:
    with transaction.atomic():
        return pattern_observe(
            category=category, title=TITLE, description=DESCRIPTION, confidence=confidence
        )


@pytest.mark.django_db
class TestScoreTicket:
    def test_with_no_history_only_the_ai_confidence_counts_and_the_rest_says_so(self, user):
        ticket = _ticket(user, confidence=0.8)
        result = _score(ticket)
        assert result.overall_score == 20.0
        assert ticket.reliability_score == 20.0
        assert ticket.reliability_breakdown == {
            "overall_score": 20.0,
            "confidence_level": "low",
            "breakdown": {
                "ai_confidence": "80%",
                "human_validation": "0%",
                "success_history": "0%",
                "pattern_recognition": "0%",
            },
            "notes": {
                "human_validation": "No feedback in this category yet.",
                "success_history": "No concluded tickets in this category in the last 180 days.",
                "pattern_recognition": "No matching pattern.",
            },
            "ai_confidence_calibrated": False,
            "ai_confidence_raw": 0.8,
        }

    def test_it_writes_a_scored_audit_event_with_the_breakdown(self, user):
        ticket = _ticket(user, confidence=0.8)
        _score(ticket)
        event = AuditEvent.objects.get(ticket=ticket, action=AuditAction.SCORED)
        assert event.actor is None
        assert event.actor_label == "system"
        assert event.details["overall_score"] == 20.0
        assert event.details["breakdown"]["ai_confidence"] == "80%"
        assert event.details["previous_score"] is None

    def test_it_reads_success_history_and_recency_weighted_feedback_of_the_category(self, user):
        today = timezone.localdate()
        with transaction.atomic():
            for outcome in ("success", "success", "success", "success", "failure"):
                past = TicketFactory(submitted_by=user, category="web")
                rollups.record_outcome_change(past, "unknown", outcome)
            # Positive rating 5 today (weight 1), negative rating 1 sixty days ago (0.25):
            # positive rate 0.8, average rating 4.2 -> (80 + 84) / 2 = 82
            rollups.record_feedback(category="web", day=today, feedback_type="positive", rating=5)
            rollups.record_feedback(
                category="web",
                day=today - timedelta(days=60),
                feedback_type="negative",
                rating=1,
            )
            # Another category's history must not count.
            other = TicketFactory(submitted_by=user, category="db")
            rollups.record_outcome_change(other, "unknown", "failure")
        ticket = _ticket(user, confidence=0.8)
        result = _score(ticket)
        breakdown = ticket.reliability_breakdown["breakdown"]
        assert breakdown["success_history"] == "80%"
        assert breakdown["human_validation"] == "82%"
        # 0.25*80 + 0.30*82 + 0.25*80 + 0.20*0 = 64.6
        assert result.overall_score == 64.6
        assert ticket.reliability_breakdown["confidence_level"] == "medium"
        assert set(ticket.reliability_breakdown["notes"]) == {"pattern_recognition"}

    def test_history_older_than_the_windows_is_left_out(self, user):
        today = timezone.localdate()
        CategoryDailyStats.objects.create(
            category="web",
            day=today - timedelta(days=SUCCESS_HISTORY_WINDOW_DAYS),
            success_count=7,
        )
        CategoryDailyStats.objects.create(
            category="web",
            day=today - timedelta(days=FEEDBACK_HORIZON_DAYS + 1),
            feedback_count=3,
            positive_count=3,
            rating_sum=15,
        )
        ticket = _ticket(user, confidence=0.4)
        assert _score(ticket).overall_score == 10.0
        assert set(ticket.reliability_breakdown["notes"]) == {
            "human_validation",
            "success_history",
            "pattern_recognition",
        }

    def test_a_pattern_with_three_concluded_tickets_adds_its_match(self, user):
        pattern = _observe()
        Pattern.objects.filter(pk=pattern.pk).update(success_count=2, failure_count=1)
        ticket = _ticket(user, confidence=0.8, pattern=pattern)
        result = _score(ticket)
        # similarity 1 (same text) x success rate 2/3 -> 66.7; 20 + 0.2 * 66.67 = 33.3
        assert ticket.reliability_breakdown["breakdown"]["pattern_recognition"] == "67%"
        assert result.overall_score == 33.3

    def test_a_pattern_with_fewer_concluded_tickets_scores_nothing_and_says_so(self, user):
        pattern = _observe()
        Pattern.objects.filter(pk=pattern.pk).update(success_count=2)
        ticket = _ticket(user, confidence=0.8, pattern=pattern)
        _score(ticket)
        assert ticket.reliability_breakdown["breakdown"]["pattern_recognition"] == "0%"
        assert "at least 3" in ticket.reliability_breakdown["notes"]["pattern_recognition"]

    def test_it_keeps_the_category_day_and_pattern_sums_in_step_when_rescored(self, user):
        pattern = _observe()
        ticket = _ticket(user, confidence=0.8, pattern=pattern, outcome="success")
        _score(ticket)
        row = _row()
        assert (row.reliability_sum, row.reliability_count) == (20.0, 1)
        pattern.refresh_from_db()
        assert (pattern.reliability_sum, pattern.reliability_count) == (20.0, 1)
        assert pattern.avg_reliability_score == 20.0

        with transaction.atomic():
            rollups.record_feedback(
                category="web", day=timezone.localdate(), feedback_type="positive", rating=5
            )
        _score(ticket)
        assert ticket.reliability_score == 50.0  # 20 + 0.30 * 100
        row = _row()
        assert (row.reliability_sum, row.reliability_count) == (50.0, 1)
        pattern.refresh_from_db()
        assert (pattern.reliability_sum, pattern.reliability_count) == (50.0, 1)
        event = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.SCORED).last()
        assert event.details["previous_score"] == 20.0

    def test_a_score_that_makes_its_pattern_eligible_is_audited(self, user):
        today = timezone.localdate()
        pattern = _observe()
        Pattern.objects.filter(pk=pattern.pk).update(
            occurrence_count=5,
            success_count=5,
            positive_feedback_count=5,
            auto_remediation_attempts=5,
            auto_remediation_successes=5,
        )
        with transaction.atomic():
            for _ in range(5):
                past = TicketFactory(submitted_by=user, category="web")
                rollups.record_outcome_change(past, "unknown", "success")
                rollups.record_feedback(
                    category="web", day=today, feedback_type="positive", rating=5
                )
        ticket = _ticket(user, confidence=1.0, pattern=pattern, outcome="success")
        result = _score(ticket)
        assert result.overall_score == 100.0
        assert ticket.reliability_breakdown["confidence_level"] == "very_high"
        assert ticket.reliability_breakdown["notes"] == {}
        pattern.refresh_from_db()
        assert pattern.eligible_for_auto_remediation
        event = AuditEvent.objects.get(action=AuditAction.PATTERN_ELIGIBILITY_CHANGED)
        assert event.ticket == ticket
        assert event.pattern == pattern

    def test_the_callers_pattern_instance_sees_the_new_statistics(self, user):
        pattern = _observe()
        ticket = _ticket(user, confidence=0.8, pattern=pattern, outcome="success")
        with transaction.atomic():
            locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
            locked.pattern = pattern
            Pattern.objects.filter(pk=pattern.pk).update(success_count=3)
            score_ticket(locked)
            assert locked.pattern is pattern
            assert pattern.success_count == 3
            assert pattern.avg_reliability_score == locked.reliability_score

    def test_the_patterns_average_counts_its_concluded_tickets_only(self, user):
        """A ticket's score joins its pattern's average reliability when its outcome is
        known (and leaves it if it stops being known); an open ticket's score, perhaps from
        before the pattern had any history, does not hold the average down. A recompute
        gives the same numbers."""
        pattern = _observe()
        ticket = _ticket(user, confidence=0.8, pattern=pattern)
        _score(ticket)
        assert ticket.reliability_score == 20.0
        pattern.refresh_from_db()
        assert (pattern.reliability_count, pattern.avg_reliability_score) == (0, 0.0)

        move(ticket, TicketStatus.MANUAL_REVIEW)
        move(ticket, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS)
        pattern.refresh_from_db()
        assert (pattern.reliability_count, pattern.avg_reliability_score) == (1, 20.0)
        with transaction.atomic():
            rollups.record_feedback(
                category="web", day=timezone.localdate(), feedback_type="positive", rating=5
            )
        _score(ticket)  # with the feedback and its own success in the category's history
        assert ticket.reliability_score == 75.0
        pattern.refresh_from_db()
        assert (pattern.reliability_count, pattern.avg_reliability_score) == (1, 75.0)
        other = _ticket(user, confidence=0.8, pattern=pattern)
        _score(other)  # open: not counted
        incremental = Pattern.objects.values("reliability_sum", "reliability_count").get(
            pk=pattern.pk
        )
        patterns_recompute()
        assert incremental == Pattern.objects.values("reliability_sum", "reliability_count").get(
            pk=pattern.pk
        )

    def test_its_query_count_does_not_grow_with_history(self, user):
        pattern = _observe()

        def history(n: int, category: str) -> None:
            now = timezone.now()
            Ticket.objects.bulk_create(
                Ticket(
                    ticket_id=f"{category}-{i}",
                    title=TITLE,
                    description=DESCRIPTION,
                    category=category,
                    submitted_by=user,
                    outcome="success" if i % 3 else "failure",
                    status="resolved" if i % 3 else "failed",
                    reliability_score=70.0,
                    pattern=pattern,
                )
                for i in range(n)
            )
            # One rollup row per day of that history, a day per ticket, up to 500 days back.
            days = min(n, 500)
            CategoryDailyStats.objects.bulk_create(
                CategoryDailyStats(
                    category=category,
                    day=timezone.localdate(now) - timedelta(days=d + 1),
                    tickets=n // days,
                    success_count=n // days,
                    feedback_count=1,
                    positive_count=1,
                    rating_sum=4,
                    reliability_sum=70.0,
                    reliability_count=1,
                )
                for d in range(days)
            )

        def queries(category: str) -> int:
            ticket = _ticket(user, confidence=0.8, pattern=pattern, category=category)
            with transaction.atomic():
                locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
                with CaptureQueriesContext(connection) as ctx:
                    score_ticket(locked)
            return len(ctx.captured_queries)

        history(10, "small")
        history(2000, "large")
        small, large = queries("small"), queries("large")
        assert small == large
        # history, feedback, the calibration aggregate (the AI factor's history), the stored
        # calibration fit (one indexed row), pattern, save, rollup, audit, pattern lock + save
        # (+ savepoints)
        assert small <= 13


@pytest.mark.django_db
class TestRollups:
    def test_the_first_event_of_a_day_creates_its_row_and_later_ones_add_to_it(self, user):
        ticket = TicketFactory(submitted_by=user, category="web", confidence_score=0.5)
        with transaction.atomic():
            rollups.record_ticket_analyzed(ticket)
            rollups.record_ticket_analyzed(ticket)
        row = _row()
        assert (row.tickets, row.confidence_sum) == (2, 1.0)
        assert CategoryDailyStats.objects.count() == 1

    def test_an_outcome_change_moves_the_ticket_between_success_and_failure(self, user):
        ticket = TicketFactory(submitted_by=user, category="web")
        with transaction.atomic():
            rollups.record_outcome_change(ticket, "unknown", "success")
        assert (_row().success_count, _row().failure_count) == (1, 0)
        with transaction.atomic():
            rollups.record_outcome_change(ticket, "success", "failure")
        assert (_row().success_count, _row().failure_count) == (0, 1)
        with transaction.atomic():
            rollups.record_outcome_change(ticket, "failure", "failure")
            rollups.record_outcome_change(ticket, "failure", "unknown")
        assert (_row().success_count, _row().failure_count) == (0, 0)

    def test_an_outcome_counts_on_the_day_the_ticket_was_created(self, user):
        ticket = TicketFactory(submitted_by=user, category="web")
        Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=10))
        ticket.refresh_from_db()
        with transaction.atomic():
            rollups.record_outcome_change(ticket, "unknown", "success")
        assert _row(day=timezone.localdate() - timedelta(days=10)).success_count == 1

    def test_feedback_counts_its_type_and_rating(self, db):
        today = timezone.localdate()
        with transaction.atomic():
            rollups.record_feedback(category="web", day=today, feedback_type="positive", rating=5)
            rollups.record_feedback(category="web", day=today, feedback_type="negative", rating=2)
            rollups.record_feedback(category="web", day=today, feedback_type="neutral", rating=3)
        row = _row()
        assert (row.feedback_count, row.rating_sum) == (3, 10)
        assert (row.positive_count, row.negative_count, row.neutral_count) == (1, 1, 1)

    def test_an_unknown_feedback_type_is_refused_and_counts_nothing(self, db):
        with pytest.raises(ValueError, match="bogus"):
            rollups.record_feedback(
                category="web", day=timezone.localdate(), feedback_type="bogus", rating=5
            )
        assert not CategoryDailyStats.objects.exists()

    def test_a_reliability_change_replaces_the_old_score(self, user):
        ticket = TicketFactory(submitted_by=user, category="web")
        with transaction.atomic():
            rollups.record_reliability_change(ticket, None, 40.0)
            rollups.record_reliability_change(ticket, 40.0, 70.0)
        assert (_row().reliability_sum, _row().reliability_count) == (70.0, 1)
        with transaction.atomic():
            rollups.record_reliability_change(ticket, 70.0, None)
        assert (_row().reliability_sum, _row().reliability_count) == (0.0, 0)

    def test_a_rolled_back_change_leaves_no_increment(self, user):
        ticket = TicketFactory(submitted_by=user, category="web")
        with pytest.raises(RuntimeError), transaction.atomic():
            rollups.record_ticket_analyzed(ticket)
            raise RuntimeError("the caller's change failed")
        assert not CategoryDailyStats.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_events_of_a_day_create_one_row_and_lose_no_increment():
    workers = 8
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []
    today = timezone.localdate()

    def worker() -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                rollups.record_feedback(
                    category="race", day=today, feedback_type="positive", rating=4
                )
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    row = _row(category="race", day=today)
    assert (row.feedback_count, row.positive_count, row.rating_sum) == (8, 8, 32)
    assert CategoryDailyStats.objects.filter(category="race").count() == 1


@pytest.mark.django_db
def test_the_migration_rebuilds_each_patterns_average_over_concluded_tickets(user):
    """Sums kept the old way (every scored ticket) are rebuilt by the migrations' one
    rebuild (0006, which 0004 leaves it to)."""
    import importlib

    from django.apps import apps as django_apps

    pattern = _observe()
    TicketFactory(submitted_by=user, pattern=pattern, reliability_score=20.0)  # open
    TicketFactory(submitted_by=user, pattern=pattern, reliability_score=90.0, outcome="success")
    Pattern.objects.filter(pk=pattern.pk).update(reliability_sum=110.0, reliability_count=2)

    migration = importlib.import_module("feedback.migrations.0006_eligibility_on_outcomes")
    migration.rebuild(django_apps, None)
    pattern.refresh_from_db()
    assert (pattern.reliability_sum, pattern.reliability_count) == (90.0, 1)
    assert pattern.avg_reliability_score == 90.0
