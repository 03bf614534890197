"""The investigation step as the worker runs it: before the analysis, read-only, bounded,
stored with the ticket, shown in the API and the audit trail, counted in the metrics; and a
platform that does not answer means a person, never a guess."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from prometheus_client.parser import text_string_to_metric_families

from remediation.audit.models import AuditAction, AuditEvent
from remediation.connectors import registry
from remediation.connectors.models import LAB_INVESTIGATION_TOOLS, PlatformConnector
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.doubles import LabDouble

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets"
# The design's example ticket, exactly as it is written there.
EXAMPLE = {
    "title": "Service down",
    "description": "Web service not responding on port 8080",
    "category": "server",
    "affected_system": "prod-web-01",
    "enable_auto_remediation": True,
}
LISTED = {e["tool"] for entries in LAB_INVESTIGATION_TOOLS.values() for e in entries}


def post(api, drain_queue, ticket_id, **fields):
    answer = api.post(URL, {"ticket_id": ticket_id, **EXAMPLE, **fields}, format="json")
    assert answer.status_code == 201, answer.json()
    drain_queue()
    return Ticket.objects.get(ticket_id=ticket_id), api.get(f"{URL}/{ticket_id}").json()


@pytest.fixture
def lab(investigating):
    def install(**kwargs):
        double = LabDouble(**kwargs)
        stack.append(registry.use(double))
        stack[-1].__enter__()
        return double

    stack: list = []
    yield install
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def test_the_example_ticket_on_a_hung_vm_is_diagnosed_from_what_was_seen(
    seeded, api, drain_queue, lab
):
    double = lab(conditions={"prod-web-01": "vm_hung"})
    ticket, body = post(api, drain_queue, "INC-INV-1")

    [act] = body["suggested_actions"]
    assert (act["operation"], act["system"]) == ("restart_vm", "prod-web-01")
    assert body["confidence_score"] >= 0.9
    assert body["diagnosis"]["basis"] == "observed"
    assert body["diagnosis"]["observed_target"] == {"kind": "vm", "name": "prod-web-01"}
    assert any(e.startswith("observed: get_vm prod-web-01") for e in body["diagnosis"]["evidence"])
    record = body["investigation"]
    assert record["status"] == "complete"
    assert [o["name"] for o in record["objects"]] == ["prod-web-01", "esx-01"]
    assert {c["tool"] for c in record["calls"]} == {
        "get_vm",
        "get_vm_metrics",
        "get_vm_events",
        "get_host",
    }
    assert all(c["ok"] and c["ms"] >= 0 and c["at"] for c in record["calls"])
    # The investigation called only listed read-only tools (the decision then asked its
    # safety questions, which are not tools of the investigation).
    asked = {tool for tool, _ in double.asked} - {"system_healthy", "backup_available"}
    assert asked <= LISTED
    event = AuditEvent.objects.get(ticket=ticket, action=AuditAction.INVESTIGATED)
    assert "complete, 4 read-only call(s)" in event.message
    assert [c["tool"] for c in event.details["calls"]] == [c["tool"] for c in record["calls"]]
    # Nothing runs alone without a policy: a person approves what was observed.
    assert ticket.status == TicketStatus.AWAITING_APPROVAL


def test_the_same_ticket_on_a_healthy_vm_finds_no_fault_and_asks_a_person(
    seeded, api, drain_queue, lab
):
    lab()
    ticket, body = post(api, drain_queue, "INC-INV-2")
    assert body["suggested_actions"] == []
    assert body["diagnosis"]["needs_human_reason"].startswith("no fault found")
    assert ticket.status == TicketStatus.MANUAL_REVIEW


def test_the_same_ticket_under_memory_pressure_never_proposes_a_restart(
    seeded, api, drain_queue, lab
):
    lab(conditions={"prod-web-01": "memory_pressure"})
    _, body = post(api, drain_queue, "INC-INV-3")
    assert [a["operation"] for a in body["suggested_actions"]] == ["increase_memory"]
    assert body["suggested_actions"][0]["params"]["memory_gb"] > 8


def test_a_platform_that_does_not_answer_means_could_not_investigate_and_a_person(
    seeded, api, drain_queue, lab
):
    lab(conditions={"prod-web-01": "vm_hung"}, unreachable={"prod-web-01"})
    ticket, body = post(api, drain_queue, "INC-INV-4")
    assert body["suggested_actions"] == []
    assert body["investigation"]["status"] == "failed"
    assert body["diagnosis"]["needs_human_reason"].startswith("could not investigate")
    assert ticket.status == TicketStatus.MANUAL_REVIEW


def test_a_name_no_platform_knows_is_not_guessed_at(seeded, api, drain_queue, lab):
    lab()
    _, body = post(api, drain_queue, "INC-INV-5", affected_system="prod-web-99")
    assert body["suggested_actions"] == []
    assert body["investigation"]["status"] == "not_found"


def test_words_alone_are_proposed_for_a_person_only(seeded, api, drain_queue, settings):
    settings.INVESTIGATION_ENABLED = True
    PlatformConnector.objects.update(investigation_tools=[])  # nothing listed: nothing to ask
    _ticket, body = post(
        api,
        drain_queue,
        "INC-INV-6",
        description="Web service not responding on port 8080; the VM is hung, console frozen.",
    )
    assert body["investigation"]["status"] == "skipped"
    assert [a["operation"] for a in body["suggested_actions"]] == ["restart_vm"]
    assert body["diagnosis"]["basis"] == "words"
    assert body["confidence_score"] <= 0.6
    assert "nothing observed confirms the cause" in " ".join(
        body["remediation_decision"]["reasoning"]
    )


def test_the_investigation_is_bounded_in_calls(seeded, api, drain_queue, lab, settings):
    settings.INVESTIGATION_MAX_CALLS = 2
    lab(conditions={"prod-web-01": "vm_hung"})
    _, body = post(api, drain_queue, "INC-INV-7")
    assert len(body["investigation"]["calls"]) == 2
    assert body["investigation"]["status"] == "partial"


def test_investigations_are_counted_in_the_metrics(seeded, api, drain_queue, lab, client):
    lab(conditions={"prod-web-01": "vm_hung"}, unreachable={"prod-web-02"})
    post(api, drain_queue, "INC-INV-8")
    post(api, drain_queue, "INC-INV-9", affected_system="prod-web-02")
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(client.get("/metrics").content.decode())
        for s in family.samples
    }
    assert samples["datacenter_docs_investigations_total"] == 2
    assert samples["datacenter_docs_investigations_failed_total"] == 1
    assert samples["datacenter_docs_investigation_calls_total"] >= 5
    assert samples["datacenter_docs_investigation_call_errors_total"] >= 1
    assert samples["datacenter_docs_investigation_seconds_total"] >= 0


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        ([{"kind": "vm", "tool": "restart_vm", "args": {"vm": "{name}"}}], "is a write tool"),
        ([{"kind": "vm", "tool": "get_vm", "args": {"vm": "{secret}"}}], "args map"),
        ([{"kind": "dragon", "tool": "get_vm", "args": {}}], "kind must be"),
        ("get_vm", "Must be a list"),
        ([{"kind": "vm", "tool": "get vm\x00", "args": {}}], "not a tool name"),
    ],
)
def test_an_admin_cannot_list_a_write_tool_or_a_malformed_one(tools, message):
    row = PlatformConnector.objects.get(platform="vmware")
    row.investigation_tools = tools
    with pytest.raises(ValidationError, match=message):
        row.clean()


def test_a_tool_mapped_to_a_write_cannot_be_listed_under_another_name():
    row = PlatformConnector.objects.get(platform="vmware")
    row.tool_map = {"restart_vm": "vm_power_cycle"}
    row.investigation_tools = [{"kind": "vm", "tool": "vm_power_cycle", "args": {"vm": "{name}"}}]
    with pytest.raises(ValidationError, match="is a write tool"):
        row.clean()


class _BuggyConnector(LabDouble):
    """A connector whose own code breaks while the investigation asks it what it lists."""

    def investigation_entries(self, kind):
        raise RuntimeError("connector bug")


def test_a_broken_investigation_never_strands_the_ticket_and_nothing_is_guessed(
    seeded, api, drain_queue, investigating
):
    with registry.use(_BuggyConnector(conditions={"prod-web-01": "vm_hung"})):
        ticket, body = post(api, drain_queue, "INC-INV-10")
    assert body["investigation"]["status"] == "failed"
    assert body["investigation"]["reason"] == "investigation error (RuntimeError)"
    assert body["suggested_actions"] == []
    assert ticket.status == TicketStatus.MANUAL_REVIEW


def test_the_migrated_lab_rows_list_exactly_the_labs_tools():
    """The data migrations write the lab's list as it ships (relations included): what a new
    database holds is what the code describes."""
    for row in PlatformConnector.objects.filter(simulated=True):
        assert row.investigation_tools == LAB_INVESTIGATION_TOOLS[row.platform], row.platform
