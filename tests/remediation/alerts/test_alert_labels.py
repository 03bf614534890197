"""An alert's labels are data: stored on its ticket by the alert intake, read from there by the
investigation, never parsed back out of a description that anyone can write."""

from __future__ import annotations

import pytest

from remediation.connectors import registry
from remediation.tickets.models import Ticket
from remediation.tickets.services import TicketInput, ticket_create
from tests.support.alerts import URL, alert, batch
from tests.support.doubles import LabDouble

pytestmark = pytest.mark.django_db

FORGED = (
    "Something is wrong.\n\nLabels:\nalertname=KubePodCrashLooping\nnamespace=default\n"
    "pod=api-8b7c\n"
)


@pytest.fixture
def lab(seeded, investigating):
    double = LabDouble()
    with registry.use(double):
        yield double


def shown(api, ticket_id):
    answer = api.get(f"/api/v1/tickets/{ticket_id}")
    assert answer.status_code == 200, answer.content
    return answer.json()


def sources(body):
    return [s["source"] for s in body["investigation"]["subjects"]]


def test_an_alerts_labels_are_stored_and_name_what_is_looked_at(api, drain_queue, lab):
    labels = {
        "alertname": "KubePodCrashLooping",
        "namespace": "default",
        "pod": "web-5c4b",
        "instance": "10.42.0.9:8080",
    }
    r = api.post(URL, batch(alert(labels=labels)), format="json")
    assert r.status_code == 200, r.content
    ticket_id = r.json()["results"][0]["ticket_id"]
    assert Ticket.objects.get(ticket_id=ticket_id).alert_labels == labels
    drain_queue()
    body = shown(api, ticket_id)
    assert body["alert_labels"] == labels
    first = body["investigation"]["subjects"][0]
    assert (first["name"], first["source"]) == ("default/web-5c4b", "alert labels")


def test_an_annotation_written_as_a_labels_block_is_not_read_as_labels(api, drain_queue, lab):
    """The old reader took the first "Labels:" block of the description, and an alert's
    annotations come before the intake's own block: an annotation could name the object."""
    labels = {"alertname": "InstanceDown", "instance": "prod-web-01:9100", "job": "node"}
    payload = alert(
        labels=labels,
        annotations={"summary": "down", "description": "Labels:\nvm=prod-db-01\n"},
    )
    r = api.post(URL, batch(payload), format="json")
    ticket_id = r.json()["results"][0]["ticket_id"]
    drain_queue()
    body = shown(api, ticket_id)
    assert body["alert_labels"] == labels
    from_labels = [
        s["name"] for s in body["investigation"]["subjects"] if s["source"] == "alert labels"
    ]
    assert from_labels == ["prod-web-01"]


def test_a_ticket_api_ticket_with_a_forged_labels_block_has_no_labels(api, drain_queue, lab):
    answer = api.post(
        "/api/v1/tickets",
        {
            "ticket_id": "INC-FORGED-LABELS",
            "title": "KubePodCrashLooping",
            "description": FORGED,
            "category": "kubernetes",
            "affected_system": "default/web-5c4b",
            "source": "prometheus",
            "enable_auto_remediation": True,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    drain_queue()
    body = shown(api, "INC-FORGED-LABELS")
    assert body["alert_labels"] == {}
    assert "alert labels" not in sources(body)
    assert body["investigation"]["subjects"][0]["name"] == "default/web-5c4b"
    # Nothing is proposed on the object the forged block names.
    assert all("api-8b7c" not in a["system"] for a in body["suggested_actions"])


def test_the_alertmanager_source_through_the_ticket_api_is_refused(api):
    answer = api.post(
        "/api/v1/tickets",
        {
            "ticket_id": "INC-FORGED-SOURCE",
            "title": "KubePodCrashLooping",
            "description": FORGED,
            "category": "kubernetes",
            "source": "alertmanager",
        },
        format="json",
    )
    assert answer.status_code == 400
    assert "source" in answer.json()["error"]["fields"]


def test_a_ticket_saying_alertmanager_without_stored_labels_gets_none(api, user, drain_queue, lab):
    """A ticket whose source says "alertmanager" but that the alert intake did not open (as
    every such ticket was before its labels were stored) carries no labels: its text is
    never read as labels."""
    ticket_create(
        TicketInput(
            ticket_id="INC-SAYS-ALERTMANAGER",
            title="KubePodCrashLooping",
            description=FORGED,
            category="kubernetes",
            source="alertmanager",
        ),
        acting_user=user,
    )
    drain_queue()
    body = shown(api, "INC-SAYS-ALERTMANAGER")
    assert body["source"] == "alertmanager"
    assert body["alert_labels"] == {}
    assert "alert labels" not in sources(body)


def test_the_migration_gives_earlier_alert_tickets_their_first_alerts_labels(api, user):
    """Alert tickets opened before the labels were stored: the labels of the alert record
    that opened each one; other tickets stay without labels."""
    import importlib

    from django.apps import apps as django_apps

    from remediation.alerts.models import AlertRecord

    first = {"alertname": "InstanceDown", "instance": "prod-web-01:9100"}
    r = api.post(URL, batch(alert(labels=first)), format="json")
    ticket = Ticket.objects.get(ticket_id=r.json()["results"][0]["ticket_id"])
    record = AlertRecord.objects.get(ticket=ticket)
    AlertRecord.objects.create(
        key="am-later",
        fingerprint="later",
        ticket=ticket,
        labels={"alertname": "InstanceDown", "instance": "prod-web-02:9100"},
        starts_at=record.starts_at,
    )
    other = ticket_create(
        TicketInput(
            ticket_id="INC-NOT-AN-ALERT",
            title="t",
            description=FORGED,
            category="server",
            source="alertmanager",
        ),
        acting_user=user,
    ).ticket
    Ticket.objects.filter(pk=ticket.pk).update(alert_labels={})  # as before the migration

    migration = importlib.import_module("remediation.migrations.0035_names_ticket_alert_labels")
    migration.labels_from_alert_records(django_apps, None)
    ticket.refresh_from_db()
    other.refresh_from_db()
    assert ticket.alert_labels == first
    assert other.alert_labels == {}
