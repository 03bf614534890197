"""The design's own example ticket, exactly as written ("Service down" / "Web service not
responding on port 8080", category server, prod-web-01), end to end: posted to the API, a
real `qcluster` investigates prod-web-01 through the lab's read-only tools over MCP, the
analysis diagnoses from what it saw, the decision applies a policy that allows unattended
restarts for a pattern that earned trust, and the execution writes to the lab."""

from __future__ import annotations

import pytest

from lab.state import LabState
from patterns.rules.signature import cause_signature
from policies.models import AutoRemediationPolicy
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.audit import assert_audit_intact
from tests.support.dbutil import start_manage, stop, wait_for
from tests.support.execution import lab_world, lab_writes
from tests.support.factories import PatternFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXAMPLE = {
    "title": "Service down",
    "description": "Web service not responding on port 8080",
    "category": "server",
    "affected_system": "prod-web-01",
    "enable_auto_remediation": True,
}
SETTLED = {
    TicketStatus.RESOLVED,
    TicketStatus.MANUAL_REVIEW,
    TicketStatus.AWAITING_APPROVAL,
    TicketStatus.ANALYZED,
    TicketStatus.FAILED,
    TicketStatus.PARTIALLY_REMEDIATED,
}


@pytest.fixture
def lab_path(tmp_path, settings, seeded):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    AutoRemediationPolicy.objects.update_or_create(
        category="server",
        defaults={
            "name": "server-restarts-unattended",
            "allowed_action_types": ["safe_write", "critical_write"],
            "allowed_systems": ["vmware"],
            "forbidden_commands": [],
            "min_confidence_score": 0.9,
            "min_reliability_score": 0.0,
            "min_similar_tickets": 3,
            "min_positive_feedback_rate": 0.8,
            "requires_approval": False,
            "auto_approve_threshold": 0.0,
            "max_actions_per_hour": 100,
            "circuit_breaker_threshold": 100,
        },
    )
    # The pattern earned its autonomy (as the learning tests show it happening). A fresh
    # database has no category history, so the reliability score is low: this policy (and
    # the global floor, below) let the observed cause and the trusted pattern decide.
    # Patterns are keyed on the diagnosed cause: the hang this ticket's investigation shows.
    hung = cause_signature("server", cause="hung", kind="vm", operation="restart_vm")
    PatternFactory(
        hash=hung.hash,
        key_terms=list(hung.key_terms),
        category="server",
        eligible_for_auto_remediation=True,
        occurrence_count=8,
        success_count=8,
        positive_feedback_count=8,
        positive_feedback_rate=1.0,
        confidence_sum=7.6,
        avg_confidence_score=0.95,
        reliability_sum=800.0,
        reliability_count=8,
        avg_reliability_score=100.0,
        auto_remediation_attempts=8,
        auto_remediation_successes=8,
        auto_remediation_success_rate=1.0,
    )
    return path


def stage(path, condition):
    from lab import engine

    with LabState(path).tx() as tx:
        engine.set_condition(tx.world, "prod-web-01", condition)
        tx.save()


def run_example(api, tmp_path, lab_path, ticket_id):
    worker = start_manage(
        "qcluster",
        log=tmp_path / "qcluster.log",
        LAB_STATE_PATH=str(lab_path),
        MCP_STDERR_LOG=str(tmp_path / "mcp.log"),
        AUTO_REMEDIATION_MIN_RELIABILITY="0",
    )
    try:
        answer = api.post("/api/v1/tickets", {"ticket_id": ticket_id, **EXAMPLE}, format="json")
        assert answer.status_code == 201, answer.json()

        def settled():
            t = Ticket.objects.get(ticket_id=ticket_id)
            return t if t.status in SETTLED else None

        ticket = wait_for(settled, timeout=180)
        log = (tmp_path / "qcluster.log").read_text(errors="replace")[-4000:]
        assert ticket is not None, log
    finally:
        stop(worker)
    ticket.refresh_from_db()
    assert_audit_intact()  # what the real worker wrote holds, and nothing is missing
    return ticket, api.get(f"/api/v1/tickets/{ticket_id}").json()


def test_a_hung_vm_is_restarted_unattended_and_resolved(api, tmp_path, lab_path):
    stage(lab_path, "vm_hung")
    ticket, body = run_example(api, tmp_path, lab_path, "INC-SEED-HUNG")

    [act] = body["suggested_actions"]
    assert (act["operation"], act["system"]) == ("restart_vm", "prod-web-01")
    assert body["confidence_score"] >= 0.9
    assert body["diagnosis"]["basis"] == "observed"
    assert any("heartbeat red" in e for e in body["diagnosis"]["evidence"])
    assert body["investigation"]["status"] in ("complete", "partial")
    assert {c["tool"] for c in body["investigation"]["calls"]} >= {"get_vm", "get_vm_metrics"}
    assert ticket.status == TicketStatus.RESOLVED, (
        ticket.status_reason,
        body["remediation_decision"],
    )
    assert ticket.auto_remediation_executed and not ticket.remediation_decision["requires_approval"]
    assert [w["tool"] for w in lab_writes(lab_path)] == ["restart_vm"]
    assert lab_world(lab_path)["objects"]["prod-web-01"]["condition"] is None
    assert AuditEvent.objects.filter(ticket=ticket, action=AuditAction.INVESTIGATED).exists()


def test_a_healthy_vm_means_no_fault_found_and_a_person(api, tmp_path, lab_path):
    ticket, body = run_example(api, tmp_path, lab_path, "INC-SEED-WELL")

    assert body["suggested_actions"] == []
    assert "no fault found" in body["diagnosis"]["needs_human_reason"], body["investigation"]
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert lab_writes(lab_path) == []


def test_a_vm_under_memory_pressure_is_never_restarted(api, tmp_path, lab_path):
    stage(lab_path, "memory_pressure")
    ticket, body = run_example(api, tmp_path, lab_path, "INC-SEED-MEM")

    operations = [a["operation"] for a in body["suggested_actions"]]
    assert operations in (["increase_memory"], [])
    assert "restart_vm" not in [w["tool"] for w in lab_writes(lab_path)]
    if operations:  # a critical write: a person always approves it
        assert ticket.status == TicketStatus.AWAITING_APPROVAL
        assert lab_writes(lab_path) == []
