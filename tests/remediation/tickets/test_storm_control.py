"""Storm control through POST /api/v1/tickets: the same incident under a new ticket_id joins
the open ticket of its pattern and target, and the answer says which."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketOutcome, TicketRepeat, TicketStatus
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets"
BODY = {
    "title": "Service down",
    "description": "Web service not responding on port 8080",
    "category": "server",
    "affected_system": "prod-web-01",
}


def post(api, ticket_id, **changes):
    return api.post(URL, {**BODY, "ticket_id": ticket_id, **changes}, format="json")


def test_the_same_incident_under_a_new_id_joins_the_open_ticket(api):
    assert post(api, "INC-1").status_code == 201
    r = post(api, "INC-2", description="Web service not responding on port 8081")
    assert r.status_code == 200
    body = r.json()
    assert body["joined"] is True
    assert body["requested_ticket_id"] == "INC-2"
    assert body["ticket_id"] == "INC-1"
    assert body["repeat_count"] == 1
    assert body["ticket"]["ticket_id"] == "INC-1"
    assert not Ticket.objects.filter(ticket_id="INC-2").exists()
    assert OrmQ.objects.count() == 1  # one analysis, so at most one remediation
    repeat = TicketRepeat.objects.get()
    assert (repeat.submitted_ticket_id, repeat.reason, repeat.source) == ("INC-2", "open", "api")
    event = AuditEvent.objects.get(action=AuditAction.REPEAT_JOINED)
    assert event.ticket.ticket_id == "INC-1" and "INC-2" in event.message


def test_the_same_ticket_id_twice_is_still_a_conflict(api):
    post(api, "INC-1")
    assert post(api, "INC-1").status_code == 409
    assert Ticket.objects.get().repeat_count == 0


def test_a_ticket_id_that_joined_cannot_be_sent_again(api):
    post(api, "INC-1")
    post(api, "INC-2")
    r = post(api, "INC-2")
    assert r.status_code == 409
    assert "INC-1" in r.json()["error"]["message"]
    assert Ticket.objects.get().repeat_count == 1


def test_another_target_or_another_problem_is_a_new_ticket(api):
    post(api, "INC-1")
    assert post(api, "INC-2", affected_system="prod-web-02").status_code == 201
    assert post(api, "INC-3", title="Disk full", description="Volume full").status_code == 201
    assert Ticket.objects.count() == 3


def test_tickets_without_a_target_are_never_joined(api):
    assert post(api, "INC-1", affected_system="").status_code == 201
    assert post(api, "INC-2", affected_system="").status_code == 201


def test_a_closed_ticket_does_not_absorb_the_next_incident(api):
    post(api, "INC-1")
    Ticket.objects.update(status=TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS)
    assert post(api, "INC-2").status_code == 201


def test_past_the_window_limit_a_flapping_incident_joins_the_newest_ticket(api, settings):
    settings.STORM_MAX_TICKETS_PER_WINDOW = 2
    for n in (1, 2):
        assert post(api, f"INC-{n}").status_code == 201
        Ticket.objects.update(status=TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS)
    r = post(api, "INC-3")
    assert r.status_code == 200
    assert r.json()["ticket_id"] == "INC-2"
    assert TicketRepeat.objects.get().reason == "limit"


def test_storm_control_can_be_switched_off(api, settings):
    settings.STORM_CONTROL_ENABLED = False
    post(api, "INC-1")
    assert post(api, "INC-2").status_code == 201


def test_another_integrations_open_ticket_swallows_nothing(api, client_for):
    """The probe's hijack: one token opens the incident with auto-remediation off; another
    integration's report of it (opted in, more severe) must still be its own ticket,
    analyzed, and readable by its submitter under its own id."""
    post(api, "INC-1", severity="low", enable_auto_remediation=False)
    other = client_for(UserFactory(username="integration2"))
    r = post(other, "INC-2", severity="critical", enable_auto_remediation=True)
    assert r.status_code == 201, r.json()
    mine = Ticket.objects.get(ticket_id="INC-2")
    assert (mine.severity, mine.auto_remediation_enabled) == ("critical", True)
    assert OrmQ.objects.count() == 2  # both analyzed
    assert Ticket.objects.get(ticket_id="INC-1").repeat_count == 0
    assert other.get(f"{URL}/INC-2").status_code == 200
    # Its later reports join its own ticket, not the first token's.
    r = post(other, "INC-3")
    assert r.status_code == 200 and r.json()["ticket_id"] == "INC-2"


def test_a_join_never_drops_an_opt_in_or_lowers_the_severity(api):
    post(api, "INC-1", severity="low", enable_auto_remediation=False)
    stronger = post(api, "INC-2", severity="low", enable_auto_remediation=True)
    assert stronger.status_code == 201  # processed as its own ticket
    assert post(api, "INC-3", severity="critical").status_code == 201
    # Asking for no more than the newest ticket has still joins it.
    weaker = post(api, "INC-4", severity="low", enable_auto_remediation=False)
    assert weaker.status_code == 200 and weaker.json()["ticket_id"] == "INC-3"


def test_an_open_ticket_stops_absorbing_after_a_bounded_time(api, settings):
    settings.STORM_MAX_OPEN_SECONDS = 3600
    post(api, "INC-1")
    Ticket.objects.filter(ticket_id="INC-1").update(created_at=timezone.now() - timedelta(hours=2))
    assert post(api, "INC-2").status_code == 201
    assert post(api, "INC-3").json()["ticket_id"] == "INC-2"


def test_a_joined_submitter_reads_the_ticket_under_its_own_id(api):
    post(api, "INC-1")
    r = post(api, "INC-2")
    assert r.json()["ticket"]["ticket_id"] == "INC-1"
    shown = api.get(f"{URL}/INC-2")
    assert shown.status_code == 200 and shown.json()["ticket_id"] == "INC-1"
    assert api.get(f"{URL}/INC-2/remediation-logs").status_code == 200


def test_a_submitted_id_that_joined_leads_nowhere_for_others(api, client_for):
    post(api, "INC-1")
    post(api, "INC-2")
    stranger = client_for(UserFactory(username="stranger"))
    assert stranger.get(f"{URL}/INC-2").status_code == 404
    assert stranger.get(f"{URL}/INC-1").status_code == 404


def test_a_repeat_is_shown_in_the_ticket_and_its_logs(api):
    post(api, "INC-1")
    post(api, "INC-2")
    shown = api.get(f"{URL}/INC-1").json()
    assert shown["repeat_count"] == 1
    logs = api.get(f"{URL}/INC-1/remediation-logs").json()["results"]
    assert logs[-1]["action"] == AuditAction.REPEAT_JOINED


@pytest.mark.parametrize(
    ("status", "outcome", "joins"),
    [
        (TicketStatus.MANUAL_REVIEW, TicketOutcome.UNKNOWN, True),  # a person still holds it
        (TicketStatus.MANUAL_REVIEW, TicketOutcome.FAILURE, False),  # a person concluded it
        (TicketStatus.ANALYZED, TicketOutcome.UNKNOWN, True),
        (TicketStatus.PARTIALLY_REMEDIATED, TicketOutcome.FAILURE, True),  # still a person's
        (TicketStatus.RESOLVED, TicketOutcome.SUCCESS, False),
    ],
)
def test_a_ticket_a_person_concluded_collects_no_repeats(api, status, outcome, joins):
    assert post(api, "INC-1").status_code == 201
    Ticket.objects.filter(ticket_id="INC-1").update(
        status=status,
        outcome=outcome,
        auto_remediation_executed=status == TicketStatus.PARTIALLY_REMEDIATED,
    )
    r = post(api, "INC-2")
    assert (r.status_code, r.json().get("joined", False)) == (
        (200, True) if joins else (201, False)
    )
    assert Ticket.objects.filter(ticket_id="INC-2").exists() is not joins


def test_the_submitter_cannot_conclude_its_own_ticket_to_escape_storm_control(api):
    """Only a trusted reviewer's verdict concludes a ticket: an integration's own negative
    feedback on its ticket leaves it open, so its repeats are still joined."""
    assert post(api, "INC-1").status_code == 201
    Ticket.objects.filter(ticket_id="INC-1").update(status=TicketStatus.MANUAL_REVIEW)
    r = api.post(
        "/api/v1/feedback",
        {"ticket_id": "INC-1", "feedback_type": "negative", "rating": 1},
        format="json",
    )
    assert r.status_code == 201
    assert Ticket.objects.get(ticket_id="INC-1").outcome == TicketOutcome.UNKNOWN
    r = post(api, "INC-2")
    assert r.status_code == 200 and r.json()["joined"] is True
