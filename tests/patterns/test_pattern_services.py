"""Pattern statistics kept by ``pattern_update``, and eligibility settled on every change."""

from __future__ import annotations

import pytest
from django.db import transaction

from patterns import services
from patterns.models import Pattern
from patterns.services import (
    enabled_set,
    feedback_added,
    outcome_moved,
    pattern_update,
    reliability_moved,
)
from remediation.audit.models import AuditAction, AuditEvent

SUCCEEDED = outcome_moved(old="unknown", new="success", remediated=True)
FAILED = outcome_moved(old="unknown", new="failure", remediated=True)


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
        pattern_update(
            pattern,
            *[feedback_added("positive")] * 17,
            *[feedback_added("negative")] * 3,
            *[SUCCEEDED] * 17,
            *[FAILED] * 3,
        )
        change = pattern_update(pattern, reliability_moved(old=None, new=85.0))
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
        pattern_update(pattern, feedback_added("positive"), feedback_added("neutral"))
        pattern_update(pattern, SUCCEEDED)
        pattern_update(pattern, outcome_moved(old="unknown", new="failure", remediated=False))
        pattern_update(pattern, reliability_moved(old=None, new=80.0))
        pattern_update(pattern, reliability_moved(old=80.0, new=90.0))
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
        pattern_update(pattern, SUCCEEDED)
        pattern_update(pattern, outcome_moved(old="success", new="failure", remediated=True))
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
    flip = AuditEvent.objects.get(action=AuditAction.PATTERN_ELIGIBILITY_CHANGED)
    assert flip.pattern_id == pattern.pk and flip.details["eligible"] is True


@pytest.mark.django_db
def test_a_failed_execution_takes_eligibility_away_by_itself(settings):
    pattern, _ = make_eligible(settings)
    with transaction.atomic():
        change = pattern_update(pattern, FAILED)
    assert change is not None and not change.eligible
    assert any("Remediation success rate" in r for r in change.reasons)
    pattern.refresh_from_db()
    assert not pattern.eligible_for_auto_remediation


@pytest.mark.django_db
def test_a_change_that_keeps_the_verdict_returns_nothing(settings):
    pattern, _ = make_eligible(settings)
    with transaction.atomic():
        assert pattern_update(pattern, SUCCEEDED) is None


@pytest.mark.django_db
def test_a_disabled_pattern_is_never_eligible(settings):
    pattern, _ = make_eligible(settings)
    with transaction.atomic():
        change = pattern_update(pattern, enabled_set(False))
    assert change is not None and not change.eligible
    with transaction.atomic():
        change = pattern_update(pattern, enabled_set(True))
    assert change is not None and change.eligible


@pytest.mark.django_db
def test_it_refuses_an_unknown_feedback_type():
    pattern = observe()
    with pytest.raises(ValueError, match="Unknown feedback type"):
        pattern_update(pattern, feedback_added("ecstatic"))
