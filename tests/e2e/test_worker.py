"""A ticket leaves `processing` on its own: a real `qcluster` process does the analysis."""

from __future__ import annotations

import pytest

from lab import engine
from lab.state import LabState
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.audit import assert_audit_intact
from tests.support.dbutil import start_manage, stop, wait_for


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_analyzes_a_posted_ticket(seeded, api, tmp_path, settings):
    # What the worker's investigation will see on the lab: prod-web-01 hung.
    with LabState(settings.LAB_STATE_PATH).tx() as tx:
        engine.set_condition(tx.world, "prod-web-01", "vm_hung")
        tx.save()
    worker = start_manage("qcluster", log=tmp_path / "qcluster.log")
    try:
        r = api.post(
            "/api/v1/tickets",
            {
                "ticket_id": "INC-E2E-1",
                "title": "Service down",
                "description": "Web service not responding on port 8080; the VM is hung.",
                "category": "server",
                "affected_system": "prod-web-01",
            },
            format="json",
        )
        assert r.status_code == 201
        assert r.json()["status"] == "processing"

        def left_processing():
            t = Ticket.objects.get(ticket_id="INC-E2E-1")
            return t if t.status != TicketStatus.PROCESSING else None

        ticket = wait_for(left_processing, timeout=90)
        log = (tmp_path / "qcluster.log").read_text(errors="replace")
        assert ticket is not None, f"ticket still processing; worker log:\n{log[-4000:]}"
        assert ticket.status == TicketStatus.ANALYZED
        assert ticket.analyzed_at is not None
        assert ticket.resolution
        assert ticket.suggested_actions[0]["operation"] == "restart_vm"
        assert ticket.suggested_actions[0]["system"] == "prod-web-01"
        assert ticket.reliability_score is not None
        assert ticket.diagnosis["basis"] == "observed"
        assert ticket.investigation["status"] in ("complete", "partial")
        actions = list(AuditEvent.objects.filter(ticket=ticket).values_list("action", flat=True))
        assert actions[0] == AuditAction.TICKET_CREATED
        assert AuditAction.INVESTIGATED in actions
        assert AuditAction.ANALYSIS_COMPLETED in actions
        assert_audit_intact()

        body = api.get("/api/v1/tickets/INC-E2E-1").json()
        assert body["status"] == "analyzed"
        assert body["reliability_breakdown"]["confidence_level"] in {
            "very_high",
            "high",
            "medium",
            "low",
        }
    finally:
        stop(worker)
