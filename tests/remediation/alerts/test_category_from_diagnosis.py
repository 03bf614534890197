"""An alert that names no category is filed under the category of what it is about.

The seeded ``instance`` mapping gives every such alert the category ``server``; a switch
port's alert would then be judged by the server policy. Once the analysis has observed the
cause on a network device, the ticket is a network ticket (audited); a category the alert
(or a submitter) gave is never changed.
"""

from __future__ import annotations

import pytest

from lab.state import LabState
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import CategorySource, Ticket
from tests.support.alerts import URL, alert, batch
from tests.support.execution import stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab_path(tmp_path, settings, seeded, investigating):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    return path


def switch_alert(**extra: str) -> dict:
    labels = {"alertname": "IfOperStatusFlapping", "instance": "core-sw-03:161", "ifName": "Gi0/2"}
    return alert(
        labels={**labels, **extra},
        annotations={"summary": "Interface Gi0/2 on core-sw-03 keeps going up and down"},
    )


def fire(api, drain_queue, payload) -> Ticket:
    r = api.post(URL, batch(payload), format="json")
    assert r.status_code == 200, r.content
    ticket = Ticket.objects.get(ticket_id=r.json()["results"][0]["ticket_id"])
    drain_queue()
    ticket.refresh_from_db()
    return ticket


def test_a_switch_ports_alert_without_a_category_becomes_a_network_ticket(
    lab_path, api, drain_queue
):
    stage(lab_path, condition=("core-sw-03", "flapping", "Gi0/2"))
    ticket = fire(api, drain_queue, switch_alert())
    assert ticket.diagnosis["platform"] == "network"
    assert (ticket.category, ticket.category_source) == ("network", CategorySource.DIAGNOSIS)
    event = AuditEvent.objects.get(ticket=ticket, action=AuditAction.CATEGORY_DIAGNOSED)
    assert event.details == {"from": "server", "to": "network", "platform": "network"}
    # Counted under its new category from the start: its pattern is a network pattern.
    assert ticket.pattern.category == "network"


def test_a_category_the_alert_names_is_kept(lab_path, api, drain_queue):
    stage(lab_path, condition=("core-sw-03", "flapping", "Gi0/2"))
    ticket = fire(api, drain_queue, switch_alert(category="edge"))
    assert (ticket.category, ticket.category_source) == ("edge", CategorySource.GIVEN)
    assert not AuditEvent.objects.filter(ticket=ticket, action=AuditAction.CATEGORY_DIAGNOSED)


def test_nothing_observed_keeps_the_default(lab_path, api, drain_queue):
    # The lab shows the port healthy: no cause observed, no platform to file it under.
    ticket = fire(api, drain_queue, switch_alert())
    assert (ticket.category, ticket.category_source) == ("server", CategorySource.ALERT_DEFAULT)


def test_a_category_a_submitter_gave_is_never_changed(lab_path, api, drain_queue):
    stage(lab_path, condition=("core-sw-03", "flapping", "Gi0/2"))
    r = api.post(
        "/api/v1/tickets",
        {
            "ticket_id": "INC-SW-1",
            "title": "Gi0/2 on core-sw-03 flapping",
            "description": "Interface Gi0/2 on core-sw-03 keeps going up and down.",
            "category": "server",
            "affected_system": "core-sw-03",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    drain_queue()
    ticket = Ticket.objects.get(ticket_id="INC-SW-1")
    assert (ticket.category, ticket.category_source) == ("server", CategorySource.GIVEN)
