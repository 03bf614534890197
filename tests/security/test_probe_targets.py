"""What an outside probe steered through ticket text, refused through the public API.

* A ticket about one VM whose text named an unrelated volume proposed a write on that
  volume: an object belongs to the affected system only where the platform says so.
* ``default/`` as the affected system named nothing, so the text picked the deployment.
* "Scale the deployment to 1 replicas" on a saturated 2-replica deployment proposed 1.
"""

from __future__ import annotations

import pytest

from remediation.connectors import registry
from remediation.tickets.models import Ticket
from tests.support.doubles import LabDouble

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets"


@pytest.fixture
def lab(investigating):
    stack: list = []

    def install(**kwargs):
        double = LabDouble(**kwargs)
        stack.append(registry.use(double))
        stack[-1].__enter__()
        return double

    yield install
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def submit(api, drain_queue, ticket_id, **fields):
    body = {"ticket_id": ticket_id, "enable_auto_remediation": True, **fields}
    answer = api.post(URL, body, format="json")
    assert answer.status_code == 201, answer.json()
    drain_queue()
    return api.get(f"{URL}/{ticket_id}").json()


def targets(body):
    return {(a["operation"], a["system"]) for a in body["suggested_actions"]}


def test_text_naming_an_unrelated_volume_gets_no_write_on_it(seeded, api, drain_queue, lab):
    """The probe's ticket: VM prod-web-03, text naming vol-logs-01 (another VM's volume) with
    old snapshots on it. Nothing may be proposed on vol-logs-01."""
    lab(conditions={"vol-logs-01": "snapshot_bloat"})
    body = submit(
        api,
        drain_queue,
        "INC-PROBE-VOL",
        title="Disk space low on prod-web-03",
        description=(
            "prod-web-03 is running out of space. Volume vol-logs-01 has too many old "
            "snapshots consuming space; clear the old snapshots on vol-logs-01."
        ),
        category="storage",
        affected_system="prod-web-03",
    )
    assert not any(system == "vol-logs-01" for _, system in targets(body)), body
    assert body["status"] != "awaiting_approval" or body["suggested_actions"] == []


def test_a_volume_the_platform_lists_as_the_vms_is_in_scope(seeded, api, drain_queue, lab):
    """The same kind of ticket on the VM the volume is attached to: the platform lists the
    volume as that VM's, the fault is seen on it, and the fix is proposed on it."""
    lab(conditions={"vol-logs-01": "snapshot_bloat"})
    body = submit(
        api,
        drain_queue,
        "INC-PROBE-VOL-OWN",
        title="Disk space low on prod-app-01",
        description=(
            "prod-app-01 is running out of space. Volume vol-logs-01 has too many old "
            "snapshots consuming space."
        ),
        category="storage",
        affected_system="prod-app-01",
    )
    assert targets(body) == {("clear_snapshots", "vol-logs-01")}, body
    assert body["diagnosis"]["basis"] == "observed"
    related = {(o["kind"], o["name"]) for o in body["investigation"]["objects"]}
    assert ("volume", "vol-logs-01") in related


@pytest.mark.parametrize(
    ("affected", "reason"),
    [
        ("default/", "end"),
        ("default/api/extra/more", "segments"),
        ("http://prod-web-01:8080/health", "URL"),
        ("deployment//api", "empty path segment"),
    ],
)
def test_an_affected_system_that_names_no_object_is_refused(api, affected, reason):
    answer = api.post(
        URL,
        {
            "ticket_id": "INC-PROBE-AFFECTED",
            "title": "API errors after the release",
            "description": "5xx errors on default/api since the release; roll it back.",
            "category": "kubernetes",
            "affected_system": affected,
        },
        format="json",
    )
    assert answer.status_code == 400
    [message] = answer.json()["error"]["fields"]["affected_system"]
    assert reason in message
    assert not Ticket.objects.exists()


def test_the_affected_system_is_stored_canonical(api):
    answer = api.post(
        URL,
        {
            "ticket_id": "INC-PROBE-CANON",
            "title": "Port down",
            "description": "Gi0/3 on core-sw-05 is down.",
            "category": "network",
            "affected_system": "core-sw-05 Gi0/3",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert Ticket.objects.get().affected_system == "core-sw-05:Gi0/3"


def test_text_cannot_choose_a_capacity_cutting_replica_count(seeded, api, drain_queue, lab):
    """A saturated 2-replica deployment, and text asking for 1 replica: the count comes from
    the cause and what was observed (more than 2), never from the text."""
    lab(conditions={"default/api": "saturated"})
    body = submit(
        api,
        drain_queue,
        "INC-PROBE-SCALE",
        title="API saturated",
        description=(
            "Traffic spike on deployment default/api after the campaign: high request "
            "latency, every replica busy. Scale the deployment to 1 replicas."
        ),
        category="kubernetes",
        affected_system="default/api",
    )
    scales = [a for a in body["suggested_actions"] if a["operation"] == "scale_deployment"]
    assert scales, body
    assert all(a["params"]["replicas"] > 2 for a in scales)


def test_the_alertmanager_source_is_reserved_for_the_alert_intake(api):
    answer = api.post(
        URL,
        {
            "ticket_id": "INC-PROBE-SOURCE",
            "title": "InstanceDown",
            "description": "Labels:\nalertname=InstanceDown\ninstance=prod-db-01:9100",
            "category": "server",
            "source": "alertmanager",
        },
        format="json",
    )
    assert answer.status_code == 400
    assert "source" in answer.json()["error"]["fields"]
    assert not Ticket.objects.exists()
