"""The audit trail's anchors and seals on a healthy system (both databases): each append
moves its stream's anchor, the sealer records what moved, an upgrade builds the anchors of
the streams already there, and verify_audit finds nothing to report after real work.
Tampering is in tests/concurrency/test_verify_audit.py (PostgreSQL)."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from remediation.approvals.models import ApprovalRequest, ApprovalStatus
from remediation.approvals.services import approval_expire_due, approval_grant
from remediation.audit.models import AuditAction, AuditAnchor, AuditEvent, AuditSeal
from remediation.audit.services import anchor_mac, audit, audit_seal
from remediation.execution.models import Execution, ExecutionState
from tests.support.approvals import approver
from tests.support.audit import assert_audit_intact
from tests.support.factories import PatternFactory
from tests.support.queue import drain

MIGRATION = importlib.import_module("remediation.migrations.0028_audit_anchors_and_seals")


def anchor(stream: str) -> AuditAnchor:
    return AuditAnchor.objects.get(stream=stream)


@pytest.mark.django_db
class TestAnchors:
    def test_each_append_moves_its_streams_anchor(self, user):
        pattern = PatternFactory()
        with transaction.atomic():
            first = audit(AuditAction.CONFIG_CHANGED, "one", acting_user=user)
            second = audit(AuditAction.CONFIG_CHANGED, "two")
            own = audit(AuditAction.PATTERN_ELIGIBILITY_CHANGED, "flip", pattern=pattern)
        system = anchor("system")
        assert (system.length, system.head_hash) == (2, second.hash)
        assert second.prev_hash == first.hash
        assert (anchor(f"pattern:{pattern.pk}").length, own.prev_hash) == (1, "0" * 64)
        assert system.mac == anchor_mac("system", 2, second.hash, 0, 0)

    def test_a_rolled_back_append_leaves_the_anchor_where_it_was(self, user):
        with transaction.atomic():
            kept = audit(AuditAction.CONFIG_CHANGED, "kept")
        with pytest.raises(RuntimeError), transaction.atomic():
            audit(AuditAction.CONFIG_CHANGED, "undone")
            raise RuntimeError
        assert (anchor("system").length, anchor("system").head_hash) == (1, kept.hash)
        assert_audit_intact()

    def test_the_sealer_records_what_moved_and_marks_it(self, user):
        with transaction.atomic():
            audit(AuditAction.CONFIG_CHANGED, "one")
        assert audit_seal() == 1
        assert audit_seal() == 0  # nothing moved since
        with transaction.atomic():
            last = audit(AuditAction.CONFIG_CHANGED, "two")
        assert audit_seal(batch_size=1) == 1
        seals = list(AuditSeal.objects.order_by("seq"))
        assert [s.seq for s in seals] == [1, 2]
        assert seals[1].entries == [["system", 2, last.hash]]
        assert seals[1].prev_hash == seals[0].hash
        system = anchor("system")
        assert (system.sealed_seq, system.sealed_length) == (2, 2)
        assert system.mac == anchor_mac("system", 2, last.hash, 2, 2)
        with transaction.atomic():  # an append after a seal keeps the seal's mark
            audit(AuditAction.CONFIG_CHANGED, "three")
        assert (anchor("system").length, anchor("system").sealed_seq) == (3, 2)
        assert_audit_intact()

    def test_the_sealer_works_in_batches(self, user):
        for _ in range(5):
            with transaction.atomic():
                audit(AuditAction.PATTERN_ELIGIBILITY_CHANGED, "flip", pattern=PatternFactory())
        assert audit_seal(batch_size=2) == 5
        assert [len(s.entries) for s in AuditSeal.objects.order_by("seq")] == [2, 2, 1]
        assert_audit_intact()


@pytest.mark.django_db
def test_an_empty_database_verifies():
    assert "Audit trail intact: 0 rows in 0 streams verified against their anchors and 0 " in (
        assert_audit_intact()
    )


@pytest.mark.django_db
def test_the_upgrade_builds_the_anchors_of_the_streams_already_there(user):
    pattern = PatternFactory()
    with transaction.atomic():
        for n in range(3):
            audit(AuditAction.CONFIG_CHANGED, f"system {n}")
        audit(AuditAction.PATTERN_ELIGIBILITY_CHANGED, "flip", pattern=pattern)
    before = {a.stream: (a.length, a.head_hash, a.mac) for a in AuditAnchor.objects.all()}
    # As before the upgrade: the rows, and no anchors.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE remediation_auditanchor DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM remediation_auditanchor")
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE remediation_auditanchor ENABLE TRIGGER USER")
    MIGRATION.build_anchors(apps, None)
    after = {a.stream: (a.length, a.head_hash, a.mac) for a in AuditAnchor.objects.all()}
    assert after == before
    assert_audit_intact()


@pytest.fixture
def demo_history(investigating):
    """The demo history, built through the same services as real traffic: intake,
    investigation and analysis on the lab, decisions, feedback, approval requests, and two
    real executions on the lab (one resolved, one rolled back)."""
    from django.core.management import call_command

    call_command("seed_demo", "--force", stdout=__import__("io").StringIO())


@pytest.mark.django_db
def test_after_real_work_verify_audit_finds_nothing(demo_history, seeded):
    assert Execution.objects.filter(state=ExecutionState.SUCCEEDED).exists()
    assert Execution.objects.filter(state=ExecutionState.ROLLED_BACK).exists()
    assert audit_seal() > 0
    assert_audit_intact()
    # A person approves one waiting request (its execution runs on the lab); the other
    # expires.
    waiting = list(ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).order_by("id"))
    assert len(waiting) == 2
    approval_grant(waiting[0].ticket.ticket_id, acting_user=approver("carol"), comment="ok")
    drain()
    assert Execution.objects.filter(ticket=waiting[0].ticket).exists()
    assert approval_expire_due(now=timezone.now() + timedelta(days=30)) == 1
    report = assert_audit_intact()  # anchors ahead of the last seal are fine
    assert "every ticket, execution and approval has its events" in report
    assert audit_seal() > 0
    assert_audit_intact()
    assert AuditEvent.objects.filter(action=AuditAction.APPROVAL_EXPIRED).count() == 1
