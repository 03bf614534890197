"""Pattern statistics kept by the services, and eligibility settled on every change."""

from __future__ import annotations

import pytest
from django.db import transaction

from patterns import services
from patterns.models import Pattern


def observe(title="Service down on prod-web-01", confidence=0.9, category="server"):
    with transaction.atomic():
        return services.pattern_observe(
            category=category, title=title, description="not responding", confidence=confidence
        )


def make_eligible(settings):
    """A pattern with statistics exactly at every default threshold."""
    settings.PATTERN_MIN_OCCURRENCES = 5
    pattern = observe()
    for _ in range(4):
        observe()
    with transaction.atomic():
        for _ in range(17):
            services.pattern_record_feedback(pattern, feedback_type="positive")
        for _ in range(3):
            services.pattern_record_feedback(pattern, feedback_type="negative")
        for _ in range(17):
            services.pattern_record_execution(pattern, succeeded=True)
        for _ in range(3):
            services.pattern_record_execution(pattern, succeeded=False)
        change = services.pattern_reliability_changed(pattern, old=None, new=85.0)
    return pattern, change


@pytest.mark.django_db
def test_observing_two_hosts_with_the_same_problem_counts_one_pattern_twice():
    a = observe("Service down on prod-web-01", confidence=0.8)
    b = observe("Service down on prod-web-02", confidence=0.9)
    assert a.pk == b.pk
    a.refresh_from_db()
    assert a.occurrence_count == 2
    assert a.avg_confidence_score == pytest.approx(0.85)
    assert a.first_seen_at <= a.last_seen_at
    assert Pattern.objects.count() == 1


@pytest.mark.django_db
def test_rates_and_averages_follow_the_counts():
    pattern = observe()
    with transaction.atomic():
        services.pattern_record_feedback(pattern, feedback_type="positive")
        services.pattern_record_feedback(pattern, feedback_type="neutral")
        services.pattern_record_outcome(pattern, old="unknown", new="success", remediated=True)
        services.pattern_record_outcome(pattern, old="unknown", new="failure", remediated=False)
        services.pattern_reliability_changed(pattern, old=None, new=80.0)
        services.pattern_reliability_changed(pattern, old=80.0, new=90.0)
    pattern.refresh_from_db()
    assert pattern.positive_feedback_count == 1
    assert pattern.neutral_feedback_count == 1
    assert pattern.positive_feedback_rate == 0.5
    assert (pattern.success_count, pattern.failure_count) == (1, 1)
    # Only the remediated ticket's outcome is a remediation attempt.
    assert pattern.auto_remediation_attempts == 1
    assert pattern.auto_remediation_success_rate == 1.0
    assert pattern.reliability_count == 1
    assert pattern.avg_reliability_score == 90.0


@pytest.mark.django_db
def test_an_outcome_that_changes_back_moves_the_counts_back():
    pattern = observe()
    with transaction.atomic():
        services.pattern_record_outcome(pattern, old="unknown", new="success", remediated=True)
        services.pattern_record_outcome(pattern, old="success", new="failure", remediated=True)
    pattern.refresh_from_db()
    assert (pattern.success_count, pattern.failure_count) == (0, 1)
    assert pattern.auto_remediation_attempts == 1
    assert pattern.auto_remediation_success_rate == 0.0


@pytest.mark.django_db
def test_a_pattern_at_every_threshold_becomes_eligible_and_says_why(settings):
    pattern, change = make_eligible(settings)
    assert change is not None and change.eligible
    pattern.refresh_from_db()
    assert pattern.eligible_for_auto_remediation
    assert pattern.eligibility_changed_at is not None


@pytest.mark.django_db
def test_a_failed_execution_takes_eligibility_away_by_itself(settings):
    pattern, _ = make_eligible(settings)
    with transaction.atomic():
        change = services.pattern_record_execution(pattern, succeeded=False)
    assert change is not None and not change.eligible
    assert any("Remediation success rate" in r for r in change.reasons)
    pattern.refresh_from_db()
    assert not pattern.eligible_for_auto_remediation


@pytest.mark.django_db
def test_a_change_that_keeps_the_verdict_returns_nothing(settings):
    pattern, _ = make_eligible(settings)
    with transaction.atomic():
        assert services.pattern_record_execution(pattern, succeeded=True) is None


@pytest.mark.django_db
def test_a_disabled_pattern_is_never_eligible(settings):
    pattern, _ = make_eligible(settings)
    with transaction.atomic():
        change = services.pattern_set_enabled(pattern, enabled=False)
    assert change is not None and not change.eligible
    with transaction.atomic():
        change = services.pattern_set_enabled(pattern, enabled=True)
    assert change is not None and change.eligible


@pytest.mark.django_db
def test_it_refuses_an_unknown_feedback_type():
    pattern = observe()
    with pytest.raises(ValueError, match="Unknown feedback type"):
        services.pattern_record_feedback(pattern, feedback_type="ecstatic")
