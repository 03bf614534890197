"""manage.py recompute_patterns rebuilds exactly what the incremental updates kept."""

from __future__ import annotations

import random
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from config.errors import Conflict
from feedback.models import Feedback
from feedback.verdicts.services import FeedbackInput, feedback_submit
from patterns.models import Pattern
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketStatus
from tests.conftest import make_teacher
from tests.support.factories import UserFactory, analyzed_ticket, move

STAT_FIELDS = [
    "occurrence_count",
    "success_count",
    "failure_count",
    "positive_feedback_count",
    "negative_feedback_count",
    "neutral_feedback_count",
    "positive_feedback_rate",
    "confidence_sum",
    "avg_confidence_score",
    "reliability_sum",
    "reliability_count",
    "avg_reliability_score",
    "auto_remediation_attempts",
    "auto_remediation_successes",
    "auto_remediation_success_rate",
    "shadow_agreement_count",
    "shadow_disagreement_count",
    "shadow_agreement_rate",
    "eligible_for_auto_remediation",
]

PROBLEMS = [
    ("server", "Service down on {host}", "The web service on {host} is not responding."),
    ("server", "High memory on {host}", "{host} is swapping, memory exhausted."),
    ("network", "Interface errors on {host}", "CRC errors rising on {host} uplink."),
    ("storage", "Volume full on {host}", "Disk usage at 99% on {host}."),
]


def snapshot():
    return {p.hash: {f: getattr(p, f) for f in STAT_FIELDS} for p in Pattern.objects.all()}


def _give(ticket, person, rng) -> bool:
    """Submit a random feedback; False when refused because the system is still at work."""
    try:
        feedback_submit(
            ticket=Ticket.objects.get(pk=ticket.pk),
            user=person,
            data=FeedbackInput(
                feedback_type=rng.choice(["positive", "negative", "neutral"]),
                rating=rng.randint(1, 5),
                resolution_accurate=rng.choice([True, False, None]),
                actions_worked=rng.choice([True, False, None]),
            ),
        )
    except Conflict as exc:
        assert exc.code == "ticket_busy"
        return False
    return True


@pytest.mark.django_db
def test_recompute_gives_exactly_the_numbers_of_the_incremental_updates(restart_runbook):
    """A random history mixing trusted and untrusted people (the submitter, an integration),
    feedback refused while the system works on a ticket, executions whose measured result
    later feedback disagrees with, and tickets people resolve."""
    rng = random.Random(20261126)
    submitter = make_teacher(UserFactory(username="submitter"))  # trusted, but not on own
    integration = UserFactory(username="integration")
    integration.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    teachers = [make_teacher(UserFactory(username=f"teacher{i}")) for i in range(3)]
    people = [submitter, integration, *teachers]
    refused = 0
    for n in range(40):
        category, title, description = rng.choice(PROBLEMS)
        host = f"prod-{rng.choice(['web', 'db', 'sw'])}-{rng.randint(1, 99):02d}"
        ticket = analyzed_ticket(
            submitter,
            f"RND-{n}",
            title=title.format(host=host),
            description=description.format(host=host),
            category=category,
        )
        path = rng.choice(["people", "executed", "approval"])
        if path == "approval":
            move(ticket, TicketStatus.AWAITING_APPROVAL)
        elif path == "executed":
            move(ticket, TicketStatus.REMEDIATING, executed=True)
        given = set()
        for person in rng.sample(people, rng.randint(0, 3)):  # early: refused unless analyzed
            if _give(ticket, person, rng):
                given.add(person.pk)
            else:
                refused += 1
        if path == "approval":
            move(ticket, TicketStatus.REMEDIATING, executed=True)
        if path != "people":
            status, outcome = rng.choice(
                [
                    (TicketStatus.RESOLVED, "success"),
                    (TicketStatus.PARTIALLY_REMEDIATED, "failure"),
                    (TicketStatus.MANUAL_REVIEW, "unknown"),  # timed out: a person decides
                ]
            )
            move(ticket, status, outcome=outcome)
        late = [p for p in people if p.pk not in given]
        for person in rng.sample(late, rng.randint(0, len(late))):
            assert _give(ticket, person, rng)
    assert refused > 0
    assert Feedback.objects.filter(trusted=True).exists()
    assert Feedback.objects.filter(trusted=False).exists()
    assert Feedback.objects.filter(disagrees=True).exists()
    incremental = snapshot()
    assert len(incremental) >= 4

    # Spoil every statistic, then rebuild from tickets and feedback.
    Pattern.objects.update(
        occurrence_count=999, success_count=7, reliability_sum=1.5, positive_feedback_count=3
    )
    out = StringIO()
    call_command("recompute_patterns", stdout=out)
    assert snapshot() == incremental
    assert f"Recomputed {len(incremental)} pattern(s)" in out.getvalue()
    assert f"{len(incremental)}/{len(incremental)} patterns had stale numbers" in out.getvalue()

    # Only the rows whose numbers are wrong are rewritten; a consistent table is left alone.
    spoiled = Pattern.objects.order_by("id").first()
    Pattern.objects.filter(pk=spoiled.pk).update(avg_confidence_score=0.123)
    again = StringIO()
    call_command("recompute_patterns", stdout=again)
    assert f"1/{len(incremental)} patterns had stale numbers" in again.getvalue()
    assert snapshot() == incremental
    third = StringIO()
    call_command("recompute_patterns", stdout=third)
    assert f"0/{len(incremental)} patterns had stale numbers" in third.getvalue()


@pytest.mark.django_db
def test_recompute_settles_and_audits_eligibility(settings):
    settings.PATTERN_MIN_OCCURRENCES = 1
    pattern = Pattern.objects.create(
        hash="f" * 64,
        category="server",
        key_terms=["x"],
        signature="server|x",
        eligible_for_auto_remediation=True,
    )
    out = StringIO()
    call_command("recompute_patterns", stdout=out)
    pattern.refresh_from_db()
    assert not pattern.eligible_for_auto_remediation
    assert pattern.occurrence_count == 0
    event = AuditEvent.objects.get(action=AuditAction.PATTERN_ELIGIBILITY_CHANGED)
    assert event.pattern == pattern and event.details["eligible"] is False
    assert "no longer eligible" in out.getvalue()
