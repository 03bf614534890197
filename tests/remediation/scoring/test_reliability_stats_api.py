"""GET /api/v1/stats/reliability: the design's reliability and feedback metrics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from remediation.tickets import rollups
from remediation.tickets.models import CategoryDailyStats, Ticket, TicketStatus
from tests.support.factories import TicketFactory


@pytest.fixture(autouse=True)
def _may_read_patterns_and_stats(user):
    # As an approver or an admin may by default (tests/security covers who may not).
    user.user_permissions.add(Permission.objects.get(codename="view_pattern_stats"))


URL = "/api/v1/stats/reliability"


def _fields(response) -> dict:
    return response.json()["error"].get("fields", {})


def _analyzed(user, category, *, status, confidence, reliability, age_days=0):
    """A ticket created ``age_days`` ago, analyzed and scored through the rollups."""
    ticket = TicketFactory(
        submitted_by=user,
        category=category,
        status=status,
        confidence_score=confidence,
        reliability_score=reliability,
    )
    if age_days:
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=timezone.now() - timedelta(days=age_days)
        )
        ticket.refresh_from_db()
    rollups.record_ticket_analyzed(ticket)
    rollups.record_reliability_change(ticket, None, reliability)
    return ticket


@pytest.fixture
def history(user):
    today = timezone.localdate()
    _analyzed(user, "network", status=TicketStatus.RESOLVED, confidence=0.9, reliability=92.0)
    _analyzed(user, "network", status=TicketStatus.ANALYZED, confidence=0.7, reliability=80.0)
    _analyzed(user, "cache", status=TicketStatus.RESOLVED, confidence=0.5, reliability=65.0)
    # Still processing: counted in the window, neither analyzed nor scored.
    TicketFactory(submitted_by=user, category="cache")
    _analyzed(
        user, "network", status=TicketStatus.RESOLVED, confidence=0.3, reliability=10.0, age_days=40
    )
    rollups.record_feedback(category="network", day=today, feedback_type="positive", rating=5)
    rollups.record_feedback(category="network", day=today, feedback_type="negative", rating=2)
    rollups.record_feedback(category="cache", day=today, feedback_type="neutral", rating=3)
    rollups.record_feedback(
        category="network", day=today - timedelta(days=40), feedback_type="positive", rating=4
    )


@pytest.mark.django_db
class TestNumbers:
    def test_it_reports_the_last_30_days_by_default(self, api, history):
        r = api.get(URL)
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["days"] == 30
        assert body["since"] == (timezone.localdate() - timedelta(days=29)).isoformat()
        assert body["total_tickets"] == 4
        assert body["analyzed_tickets"] == 3
        assert body["scored_tickets"] == 3
        assert body["resolved_tickets"] == 2
        assert body["resolution_rate"] == 0.5
        assert body["avg_reliability_score"] == 79.0  # (92 + 80 + 65) / 3
        assert body["avg_confidence_score"] == 0.7  # (0.9 + 0.7 + 0.5) / 3
        assert body["feedback_count"] == 3
        assert body["positive_feedback_rate"] == 0.3333
        assert body["negative_feedback_rate"] == 0.3333
        assert body["neutral_feedback_rate"] == 0.3333
        assert body["avg_rating"] == 3.33  # (5 + 2 + 3) / 3
        assert body["confidence_levels"] == {"very_high": 1, "high": 1, "medium": 1, "low": 0}

    def test_it_breaks_the_numbers_down_by_category(self, api, history):
        by_category = {c["category"]: c for c in api.get(URL).json()["by_category"]}
        assert list(by_category) == ["cache", "network"]
        network, cache = by_category["network"], by_category["cache"]
        assert network["total_tickets"] == 2
        assert network["resolution_rate"] == 0.5
        assert network["avg_reliability_score"] == 86.0
        assert network["avg_confidence_score"] == 0.8
        assert network["positive_feedback_rate"] == 0.5
        assert network["avg_rating"] == 3.5
        assert network["confidence_levels"] == {"very_high": 1, "high": 1, "medium": 0, "low": 0}
        assert cache["total_tickets"] == 2
        assert cache["analyzed_tickets"] == 1
        assert cache["avg_reliability_score"] == 65.0
        assert cache["neutral_feedback_rate"] == 1.0
        assert cache["positive_feedback_rate"] == 0.0
        assert cache["confidence_levels"] == {"very_high": 0, "high": 0, "medium": 1, "low": 0}

    def test_a_wider_window_takes_in_older_tickets_and_feedback(self, api, history):
        body = api.get(URL, {"days": 60}).json()
        assert body["days"] == 60
        assert body["total_tickets"] == 5
        assert body["resolution_rate"] == 0.6
        assert body["avg_reliability_score"] == 61.8  # (92 + 80 + 65 + 10) / 4 = 61.75
        assert body["feedback_count"] == 4
        assert body["positive_feedback_rate"] == 0.5
        assert body["avg_rating"] == 3.5
        assert body["confidence_levels"]["low"] == 1

    def test_metrics_without_data_are_null_not_zero(self, api, db):
        body = api.get(URL, {"days": 1}).json()
        assert body["total_tickets"] == 0
        assert body["by_category"] == []
        for name in (
            "avg_reliability_score",
            "avg_confidence_score",
            "resolution_rate",
            "positive_feedback_rate",
            "negative_feedback_rate",
            "avg_rating",
        ):
            assert body[name] is None, name
        assert body["confidence_levels"] == {"very_high": 0, "high": 0, "medium": 0, "low": 0}

    def test_its_query_count_does_not_grow_with_history(self, api, user, history):
        def count() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert api.get(URL).status_code == 200
            return len(ctx.captured_queries)

        small = count()
        today = timezone.localdate()
        TicketFactory.create_batch(
            30, submitted_by=user, category="storage", reliability_score=50.0
        )
        CategoryDailyStats.objects.bulk_create(
            CategoryDailyStats(category=f"cat{i}", day=today - timedelta(days=d), tickets=1)
            for i in range(5)
            for d in range(20)
        )
        assert count() == small


@pytest.mark.django_db
class TestRefusals:
    @pytest.mark.parametrize(
        "days",
        ["abc", "0", "3651", "-1", "1e3", "30.0", " 30", "3\x000", "\x00", "9" * 5000, ""],
    )
    def test_it_refuses_a_bad_days_naming_it(self, api, history, days):
        r = api.get(URL, {"days": days})
        assert r.status_code == 400, r.content
        assert "days" in _fields(r)

    def test_it_accepts_both_bounds(self, api, db):
        assert api.get(URL, {"days": 1}).json()["days"] == 1
        assert api.get(URL, {"days": 3650}).json()["days"] == 3650

    def test_it_refuses_an_unknown_parameter_naming_it(self, api, db):
        r = api.get(URL, {"dayz": 7})
        assert r.status_code == 400
        assert "dayz" in _fields(r)

    def test_it_refuses_anonymous_callers(self, anon, history):
        r = anon.get(URL)
        assert r.status_code in (401, 403)
        assert "total_tickets" not in r.json()

    def test_it_is_in_the_openapi_document(self, api, db):
        schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
        operation = schema["paths"]["/api/v1/stats/reliability"]["get"]
        assert [p["name"] for p in operation["parameters"]] == ["days"]
        assert "200" in operation["responses"]
        assert "400" in operation["responses"]


@pytest.fixture(autouse=True)
def _user_may_read_statistics(db, user):
    # Patterns and stats draw on every user's tickets, so they need a permission.
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        Permission.objects.get(codename="view_ticket", content_type__app_label="remediation")
    )


def test_a_user_without_the_permission_is_refused(client_for, other_user):
    url = "/api/v1/patterns" if "patterns" in __name__ else "/api/v1/stats/reliability"
    r = client_for(other_user).get(url)
    assert r.status_code == 403
