"""GET /api/v1/patterns."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.support.factories import PatternFactory


@pytest.fixture(autouse=True)
def _may_read_patterns_and_stats(user):
    # As an approver or an admin may by default (tests/security covers who may not).
    user.user_permissions.add(Permission.objects.get(codename="view_pattern_stats"))


FIELDS = {
    "hash",
    "category",
    "key_terms",
    "occurrence_count",
    "success_count",
    "failure_count",
    "positive_feedback_count",
    "negative_feedback_count",
    "neutral_feedback_count",
    "positive_feedback_rate",
    "avg_confidence_score",
    "avg_reliability_score",
    "auto_remediation_attempts",
    "outcome_success_rate",
    "eligible_for_auto_remediation",
    "enabled",
    "last_seen_at",
}


@pytest.mark.django_db
def test_it_lists_patterns_with_every_statistic_most_frequent_first(api):
    PatternFactory(category="network", key_terms=["vlan", "timeout"], occurrence_count=7)
    PatternFactory(category="server", occurrence_count=2)
    response = api.get("/api/v1/patterns")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first = body["results"][0]
    assert set(first) >= FIELDS
    assert first["key_terms"] == ["vlan", "timeout"]
    assert first["occurrence_count"] == 7


@pytest.mark.django_db
def test_it_filters_by_category_and_min_occurrences(api):
    PatternFactory(category="network", occurrence_count=7)
    PatternFactory(category="network", occurrence_count=3)
    PatternFactory(category="server", occurrence_count=9)
    response = api.get("/api/v1/patterns?category=network&min_occurrences=5")
    results = response.json()["results"]
    assert [(r["category"], r["occurrence_count"]) for r in results] == [("network", 7)]


@pytest.mark.django_db
def test_it_paginates(api):
    for _ in range(3):
        PatternFactory()
    body = api.get("/api/v1/patterns?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("category=" + "x" * 51, "category"),
        ("category=net%20work", "category"),
        ("category=net%00work", "category"),
        ("category=%2e%2e%2f", "category"),
        ("min_occurrences=-1", "min_occurrences"),
        ("min_occurrences=1000001", "min_occurrences"),
        ("min_occurrences=abc", "min_occurrences"),
        ("min_occurrences=1.5", "min_occurrences"),
        ("min_occurrences=" + "9" * 400, "min_occurrences"),
    ],
)
def test_it_refuses_bad_filters_naming_the_field(api, query, field):
    response = api.get(f"/api/v1/patterns?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_it_needs_authentication(anon):
    assert anon.get("/api/v1/patterns").status_code in (401, 403)


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


@pytest.mark.django_db
def test_it_says_why_a_pattern_is_not_eligible(api, settings):
    settings.PATTERN_MIN_OCCURRENCES = 5
    PatternFactory(category="server", occurrence_count=2, enabled=False)
    [row] = api.get("/api/v1/patterns").json()["results"]
    assert row["eligible_for_auto_remediation"] is False
    assert "Seen 2 times, needs 5." in row["why_not_eligible"]
    assert "Pattern is disabled by an administrator." in row["why_not_eligible"]
