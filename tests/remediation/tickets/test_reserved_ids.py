"""Ticket ids on POST /api/v1/tickets: an alert's id (``am-…``) belongs to the
Alertmanager intake of the alert's own sender, so no token can take it before the alert
fires; and a duplicate id answers a stranger exactly as it answers its owner."""

from __future__ import annotations

import pytest

from remediation.alerts.models import AlertRecord
from remediation.tickets.models import Ticket
from tests.support.alerts import URL, alert, batch

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets"


@pytest.fixture(autouse=True)
def _mappings(seeded):
    """The seeded label mappings."""


def body(ticket_id: str) -> dict[str, str]:
    return {
        "ticket_id": ticket_id,
        "title": "Web service down",
        "description": "Not responding.",
        "category": "server",
    }


def test_no_token_can_take_an_alerts_ticket_id_before_it_fires(api, user, other_user, client_for):
    """The squatter computes the id the alert will get (fingerprint, startsAt, sender id)."""
    alert_id = f"am-5ef6c3f4a1b2c3d4-20261127T010000.000Z-{user.pk}"
    squatter = client_for(other_user)
    for ticket_id in (alert_id, alert_id.upper(), "Am-anything"):
        r = squatter.post(TICKETS, body(ticket_id), format="json")
        assert r.status_code == 400, (ticket_id, r.content)
        assert "ticket_id" in r.json()["error"]["fields"]
    # Nor the sender itself: alert tickets come from the intake only.
    assert api.post(TICKETS, body(alert_id), format="json").status_code == 400
    assert not Ticket.objects.exists()

    r = api.post(URL, batch(alert()), format="json")

    assert r.status_code == 200, r.content
    [result] = r.json()["results"]
    assert (result["outcome"], result["ticket_id"]) == ("created", alert_id)
    ticket = Ticket.objects.get(ticket_id=alert_id)
    assert ticket.submitted_by == user
    assert AlertRecord.objects.get().ticket == ticket


def test_the_refusal_of_a_reserved_id_does_not_say_whether_it_exists(
    api, user, other_user, client_for
):
    squatter = client_for(other_user)
    alert_id = f"am-5ef6c3f4a1b2c3d4-20261127T010000.000Z-{user.pk}"
    before = squatter.post(TICKETS, body(alert_id), format="json")
    [result] = api.post(URL, batch(alert()), format="json").json()["results"]
    assert (result["outcome"], result["ticket_id"]) == ("created", alert_id)
    after = squatter.post(TICKETS, body(alert_id), format="json")
    assert before.status_code == after.status_code == 400
    assert before.json()["error"]["fields"] == after.json()["error"]["fields"]


def test_a_duplicate_id_answers_a_stranger_as_it_answers_its_owner(api, other_user, client_for):
    """The owner's retry is refused without a second ticket (409, as before); a stranger
    gets the very same answer: nothing about the ticket, its submitter or its state."""
    assert api.post(TICKETS, body("INC-1"), format="json").status_code == 201
    retry = api.post(TICKETS, body("INC-1"), format="json")
    stranger = client_for(other_user).post(TICKETS, body("INC-1"), format="json")
    assert retry.status_code == stranger.status_code == 409
    assert retry.json() == stranger.json()
    assert Ticket.objects.filter(ticket_id="INC-1").count() == 1
