"""Upgrading an installation that has history, into a release that adds a column to Pattern.

Installations in the field are at the previous release's last migrations (remediation 0034,
feedback 0006, patterns 0004, policies 0005), some at older ones. The data migrations that
rebuild pattern statistics run on such databases, in the plan Django builds: the feedback
app's migrations come before a new patterns migration they do not depend on. A data
migration that used the application's own models (or services built on them) would query a
column that does not exist yet; one written against historical models cannot.

Each test migrates the test database to an older point, fills it through the historical
models of that point (tickets, patterns, feedback), then migrates to today's latest with
the next release's shape: the live Pattern model has one more nullable column, and the
patterns app's migrations add it after their last one today
(``tests/support/next_release_patterns``). The statistics must come out as the tickets and
feedback say, exactly as the live ``recompute_patterns`` computes them (it finds nothing to
rewrite), and the audit events they write must verify. Migrations cannot run inside a test's
transaction: transaction=True.
"""

from __future__ import annotations

import importlib
from io import StringIO
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from feedback.models import Feedback
from feedback.rebuild.services import patterns_recompute
from patterns.models import Pattern
from patterns.rules.signature import cause_signature
from remediation.analysis.rules.pattern_key import pattern_key
from remediation.approvals.models import ShadowAgreement
from remediation.audit.models import AuditAction, AuditEvent
from remediation.audit.services import VerifyStats, verify_trail
from tests.support.factories import PatternFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

NEXT_RELEASE_PATTERNS = "tests.support.next_release_patterns"
NEXT_COLUMN = "next_release_note"

PREVIOUS_RELEASE = [
    ("remediation", "0034_ticket_category_source"),
    ("feedback", "0006_eligibility_on_outcomes"),
    ("patterns", "0004_shadow_agreement"),
    ("policies", "0005_min_positive_feedback_rate_on_outcomes"),
]
# Before patterns were keyed on causes: the re-key and every rebuild are still to run.
OLDER_RELEASE = [
    ("remediation", "0029_lab_volume_relations"),
    ("feedback", "0002_learning_integrity"),
    ("patterns", "0003_pattern_rejection_count"),
    ("policies", "0004_remediation_pause"),
]

STATISTICS = [
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
    "eligible_for_auto_remediation",
]

HUNG_VM = {
    "established": True,
    "cause": "hung",
    "platform": "vmware",
    "observed_target": {"kind": "vm", "name": "prod-web-01"},
}


def migrate(targets: list[tuple[str, str]] | None = None) -> Any:
    """Migrate the test database to ``targets`` (None: every app's latest, the plan of
    ``manage.py migrate``); returns the project state there (its historical apps)."""
    executor = MigrationExecutor(connection)
    if targets is None:
        targets = executor.loader.graph.leaf_nodes()
    state = executor.migrate(targets)
    return state.apps


@pytest.fixture
def next_release(settings):
    """The next release's shape: the live Pattern has a nullable column more, and the
    patterns app's migrations add it. Undone afterwards, back to today's latest."""
    field = models.CharField(max_length=40, null=True, blank=True)
    field.contribute_to_class(Pattern, NEXT_COLUMN)
    settings.MIGRATION_MODULES = {**settings.MIGRATION_MODULES, "patterns": NEXT_RELEASE_PATTERNS}
    try:
        yield
    finally:
        Pattern._meta.local_fields.remove(field)
        Pattern._meta._expire_cache()
        delattr(Pattern, NEXT_COLUMN)
        migrate()  # whatever a failure left half done
        migrate([("patterns", "0004_shadow_agreement")])  # the column goes again


def snapshot() -> dict[str, dict[str, Any]]:
    # Only these columns: before the upgrade, the live model's new one does not exist yet.
    rows = Pattern.objects.order_by("id").values("hash", *STATISTICS)
    return {row.pop("hash"): row for row in rows}


def assert_recompute_rewrites_nothing() -> None:
    out = StringIO()
    call_command("recompute_patterns", stdout=out)
    assert f"0/{Pattern.objects.count()} patterns had stale numbers" in out.getvalue()
    assert "0 eligibility change(s)" in out.getvalue()


def _cause_signature():
    """The pattern today's code puts a ticket with the HUNG_VM diagnosis on."""
    key = pattern_key(HUNG_VM)
    assert key is not None
    return cause_signature("server", cause=key.cause, kind=key.kind, operation=key.operation)


def _people(apps) -> tuple[Any, Any]:
    User = apps.get_model("auth", "User")
    return User.objects.create(username="submitter"), User.objects.create(username="teacher")


def _ticket(apps, n: int, pattern, *, outcome: str, reliability: float, confidence: float,
            diagnosis=None, submitter) -> Any:  # fmt: skip
    status = {"success": "resolved", "failure": "failed", "unknown": "analyzed"}[outcome]
    return apps.get_model("remediation", "Ticket").objects.create(
        ticket_id=f"OLD-{n}",
        title="Web service down",
        description="The web service on the VM does not answer.",
        category=pattern.category,
        submitted_by=submitter,
        status=status,
        outcome=outcome,
        auto_remediation_executed=outcome != "unknown",
        confidence_score=confidence,
        reliability_score=reliability,
        diagnosis=diagnosis,
        pattern=pattern,
    )


def _feedback(apps, ticket, user, feedback_type: str, *, trusted: bool) -> None:
    apps.get_model("feedback", "Feedback").objects.create(
        ticket=ticket, user=user, feedback_type=feedback_type, rating=4, trusted=trusted
    )


def test_an_older_installation_upgrades_to_the_next_release_shape(next_release):
    """From feedback 0002: tickets whose diagnosis established a cause move to the cause's
    pattern, every statistic is rebuilt from tickets and feedback (stale numbers on the rows
    are overwritten), a pattern that earned it becomes eligible (audited), and a recompute
    by today's code agrees."""
    apps = migrate(OLDER_RELEASE)
    Pattern_ = apps.get_model("patterns", "Pattern")
    submitter, teacher = _people(apps)
    # Word patterns as the older release kept them, their numbers stale.
    words = Pattern_.objects.create(
        hash="a" * 64, category="server", key_terms=["down", "service", "web"],
        signature="server|down,service,web", occurrence_count=99, success_count=40,
    )  # fmt: skip
    network = Pattern_.objects.create(
        hash="b" * 64, category="network", key_terms=["flapping", "link"],
        signature="network|flapping,link", occurrence_count=7, positive_feedback_count=5,
    )  # fmt: skip
    hung = [
        _ticket(apps, n, words, outcome="success", reliability=90.0, confidence=0.9,
                diagnosis=HUNG_VM, submitter=submitter)
        for n in range(6)
    ]  # fmt: skip
    _feedback(apps, hung[0], teacher, "positive", trusted=True)
    _feedback(apps, hung[1], teacher, "positive", trusted=True)
    _feedback(apps, hung[2], submitter, "negative", trusted=False)  # weighs nothing
    flaps = [
        _ticket(apps, 10, network, outcome="success", reliability=70.0, confidence=0.5,
                submitter=submitter),
        _ticket(apps, 11, network, outcome="failure", reliability=60.0, confidence=0.5,
                submitter=submitter),
        _ticket(apps, 12, network, outcome="unknown", reliability=20.0, confidence=0.4,
                submitter=submitter),
    ]  # fmt: skip
    _feedback(apps, flaps[1], teacher, "negative", trusted=True)

    migrate()

    cause = _cause_signature()
    stats = snapshot()
    assert stats[cause.hash] == {
        "occurrence_count": 6,
        "success_count": 6,
        "failure_count": 0,
        "positive_feedback_count": 2,
        "negative_feedback_count": 0,
        "neutral_feedback_count": 0,
        "positive_feedback_rate": 1.0,
        "confidence_sum": 5.4,
        "avg_confidence_score": 0.9,
        "reliability_sum": 540.0,
        "reliability_count": 6,
        "avg_reliability_score": 90.0,
        "auto_remediation_attempts": 6,
        "auto_remediation_successes": 6,
        "auto_remediation_success_rate": 1.0,
        "eligible_for_auto_remediation": True,
    }
    assert stats["a" * 64]["occurrence_count"] == 0  # emptied, kept (audit rows name it)
    assert stats["a" * 64]["success_count"] == 0
    assert stats["b" * 64] == {
        "occurrence_count": 3,
        "success_count": 1,
        "failure_count": 1,
        "positive_feedback_count": 0,
        "negative_feedback_count": 1,
        "neutral_feedback_count": 0,
        "positive_feedback_rate": 0.0,
        "confidence_sum": 1.4,
        "avg_confidence_score": 0.466667,
        "reliability_sum": 130.0,
        "reliability_count": 2,
        "avg_reliability_score": 65.0,
        "auto_remediation_attempts": 2,
        "auto_remediation_successes": 1,
        "auto_remediation_success_rate": 0.5,
        "eligible_for_auto_remediation": False,
    }
    flips = AuditEvent.objects.filter(action=AuditAction.PATTERN_ELIGIBILITY_CHANGED)
    assert [(e.pattern.hash, e.details["eligible"]) for e in flips] == [(cause.hash, True)]
    assert_recompute_rewrites_nothing()
    # The flip's event is chained and anchored as the live audit() would write it, and so is
    # the first calibration fit that recompute_patterns stores (a stream of its own).
    assert AuditEvent.objects.filter(action=AuditAction.CALIBRATION_FITTED).count() == 1
    stats = VerifyStats()
    assert list(verify_trail(stats)) == []
    assert (stats.rows, stats.anchors) == (2, 2)


def test_the_previous_release_upgrades_to_the_next_release_shape_without_touching_statistics(
    next_release,
):
    """From the previous release's last migrations: the statistics an installation holds
    are what its tickets and feedback say, and the upgrade leaves them as they are."""
    apps = migrate(PREVIOUS_RELEASE)
    Pattern_ = apps.get_model("patterns", "Pattern")
    submitter, teacher = _people(apps)
    sig = _cause_signature()
    pattern = Pattern_.objects.create(
        hash=sig.hash, category=sig.category, key_terms=list(sig.key_terms),
        signature=sig.text, occurrence_count=6, success_count=5, failure_count=1,
        positive_feedback_count=1, negative_feedback_count=1, positive_feedback_rate=0.5,
        confidence_sum=5.4, avg_confidence_score=0.9, reliability_sum=540.0,
        reliability_count=6, avg_reliability_score=90.0, auto_remediation_attempts=6,
        auto_remediation_successes=5, auto_remediation_success_rate=5 / 6,
    )  # fmt: skip
    tickets = [
        _ticket(apps, n, pattern, outcome="failure" if n == 0 else "success",
                reliability=90.0, confidence=0.9, diagnosis=HUNG_VM, submitter=submitter)
        for n in range(6)
    ]  # fmt: skip
    _feedback(apps, tickets[0], teacher, "negative", trusted=True)
    _feedback(apps, tickets[1], teacher, "positive", trusted=True)
    before = snapshot()

    migrate()

    assert snapshot() == before
    assert before[sig.hash]["eligible_for_auto_remediation"] is False
    assert_recompute_rewrites_nothing()


@pytest.mark.django_db(transaction=False)
def test_the_migrations_rebuild_gives_the_live_recomputes_numbers(settings):
    """On a history with every kind of evidence (outcomes measured and by feedback, open
    tickets, trusted, untrusted and disagreeing feedback, shadow verdicts, one of them on a
    pattern its ticket left, a disabled and a flagged pattern, more concluded tickets than
    the reliability window), the rebuild written out in the migration and today's
    ``recompute_patterns`` give the same numbers and the same eligibility flips."""
    settings.PATTERN_RELIABILITY_WINDOW = 3
    settings.PATTERN_MIN_SHADOW_DECISIONS = 2
    submitter, teacher = UserFactory(), UserFactory()
    patterns = [PatternFactory(category=c) for c in ("server", "network", "storage", "cache")]
    Pattern.objects.filter(pk=patterns[2].pk).update(enabled=False)
    Pattern.objects.filter(pk=patterns[3].pk).update(needs_review=True)
    outcomes = ["success"] * 5 + ["failure", "unknown"]
    for p in patterns:
        for n, outcome in enumerate(outcomes):
            ticket = TicketFactory(
                submitted_by=submitter, pattern=p, outcome=outcome,
                auto_remediation_executed=outcome != "unknown" and n % 2 == 0,
                confidence_score=0.5 + n / 17, reliability_score=80.0 + n * 3.3,
            )  # fmt: skip
            if n < 3:
                Feedback.objects.create(
                    ticket=ticket, user=teacher, rating=4, trusted=n != 2, disagrees=n == 1,
                    feedback_type=("positive", "negative", "neutral")[n],
                )  # fmt: skip
            if n in (0, 5):
                ShadowAgreement.objects.create(
                    ticket=ticket, pattern=p, agreed=n == 0 or p == patterns[0], source="approval",
                    decided_at=timezone.now(), decided_by=teacher,
                )  # fmt: skip
    moved = TicketFactory(submitted_by=submitter, pattern=patterns[0], outcome="success")
    ShadowAgreement.objects.create(
        ticket=moved, pattern=patterns[1], agreed=True, source="approval",
        decided_at=timezone.now(), decided_by=teacher,
    )  # fmt: skip
    untouched = PatternFactory(category="security")  # no tickets at all

    def start_over() -> None:
        Pattern.objects.update(
            occurrence_count=1, success_count=9, reliability_sum=1.0, reliability_count=1,
            eligible_for_auto_remediation=False,
        )  # fmt: skip

    start_over()
    live = patterns_recompute()
    expected = snapshot()
    start_over()
    flips = AuditEvent.objects.filter(action=AuditAction.PATTERN_ELIGIBILITY_CHANGED)
    flips_before = flips.count()
    importlib.import_module("feedback.migrations.0006_eligibility_on_outcomes").rebuild(
        django_apps, None
    )

    assert snapshot() == expected
    assert expected[untouched.hash]["occurrence_count"] == 0
    assert [e.pattern_id for e in flips.order_by("id")[flips_before:]] == [
        c.pattern.pk for c in live.changes
    ]
    assert [c.pattern.pk for c in live.changes] == [patterns[0].pk]  # the others fall short
