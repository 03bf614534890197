"""The environment measures a fix: Alertmanager's resolved notification confirms it, a new
firing of the same alert within the hold time refutes it.

Through the webhook API, as Alertmanager sends it; the fix is a measured success (resolved,
executed), as the execution leaves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from patterns.models import Pattern
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import FixEvidence, Ticket, TicketOutcome, TicketStatus
from tests.support.alerts import URL, alert, batch
from tests.support.audit import assert_audit_intact
from tests.support.factories import move

pytestmark = pytest.mark.django_db


def fired_and_fixed(api, drain_queue, *, started_ago=60, fingerprint="5ef6c3f4a1b2c3d4"):
    """An alert's ticket, analyzed, then fixed by an execution that started ``started_ago``
    seconds ago (a measured success, as the execution leaves it)."""
    starts = timezone.now() - timedelta(seconds=started_ago + 120)
    r = api.post(URL, batch(alert(starts_at=starts, fingerprint=fingerprint)), format="json")
    ticket = Ticket.objects.get(ticket_id=r.json()["results"][0]["ticket_id"])
    drain_queue()
    started = timezone.now() - timedelta(seconds=started_ago)
    Ticket.objects.filter(pk=ticket.pk).update(remediation_started_at=started)
    move(ticket, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS, executed=True)
    return Ticket.objects.get(pk=ticket.pk), starts


def resolve(api, starts, *, ends_at, fingerprint="5ef6c3f4a1b2c3d4", outcome="resolved"):
    body = batch(
        alert(status="resolved", starts_at=starts, ends_at=ends_at, fingerprint=fingerprint),
        status="resolved",
    )
    r = api.post(URL, body, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["results"][0]["outcome"] == outcome


def fire_again(api, *, seconds_later=1, fingerprint="5ef6c3f4a1b2c3d4"):
    again = alert(
        starts_at=timezone.now() + timedelta(seconds=seconds_later), fingerprint=fingerprint
    )
    r = api.post(URL, batch(again), format="json")
    assert r.status_code == 200, r.json()
    return r.json()["results"][0]


def test_the_alert_resolving_after_the_fix_confirms_it_held(seeded, api, drain_queue, settings):
    settings.OUTCOME_HOLD_SECONDS = 600
    ticket, starts = fired_and_fixed(api, drain_queue)
    assert ticket.fix_held_at is None

    resolve(api, starts, ends_at=timezone.now() - timedelta(seconds=5))
    ticket.refresh_from_db()
    assert ticket.fix_held_at is not None
    assert ticket.fix_held_by == FixEvidence.ALERT_RESOLVED
    assert (ticket.status, ticket.outcome) == (TicketStatus.RESOLVED, TicketOutcome.SUCCESS)
    event = AuditEvent.objects.get(ticket=ticket, action=AuditAction.FIX_CONFIRMED_BY_ALERT)
    assert event.details["evidence"] == "alert_resolved"
    assert event.details["alertname"] == "InstanceDown"
    assert 50 <= event.details["seconds_after_remediation"] <= 60
    assert "alert InstanceDown resolved" in event.message
    assert "fires again within 600 s" in event.message
    body = api.get(f"/api/v1/tickets/{ticket.ticket_id}").json()
    assert body["fix_held_by"] == "alert_resolved" and body["fix_held_at"]
    assert "environment confirmed the fix" in body["alert_note"]
    # Alertmanager re-sends the resolution: nothing more is confirmed or audited.
    resolve(api, starts, ends_at=timezone.now() - timedelta(seconds=5), outcome="duplicate")
    assert AuditEvent.objects.filter(action=AuditAction.FIX_CONFIRMED_BY_ALERT).count() == 1
    assert_audit_intact()


def test_an_alert_that_ended_before_the_remediation_started_confirms_nothing(
    seeded, api, drain_queue, settings
):
    settings.OUTCOME_HOLD_SECONDS = 600
    ticket, starts = fired_and_fixed(api, drain_queue, started_ago=60)
    # It went away by itself two minutes ago, before anything was done; the note arrives late.
    resolve(api, starts, ends_at=timezone.now() - timedelta(seconds=120))
    ticket.refresh_from_db()
    assert ticket.alert_resolved_at is not None
    assert ticket.fix_held_at is None and ticket.fix_held_by == ""
    assert not AuditEvent.objects.filter(action=AuditAction.FIX_CONFIRMED_BY_ALERT).exists()


def test_an_end_time_in_the_future_counts_as_when_the_resolution_arrived(
    seeded, api, drain_queue, settings
):
    ticket, starts = fired_and_fixed(api, drain_queue, started_ago=60)
    resolve(api, starts, ends_at=timezone.now() + timedelta(days=3))
    event = AuditEvent.objects.get(ticket=ticket, action=AuditAction.FIX_CONFIRMED_BY_ALERT)
    assert 55 <= event.details["seconds_after_remediation"] <= 65


def test_a_ticket_not_fixed_by_an_execution_is_never_confirmed_by_its_alert(
    seeded, api, drain_queue
):
    starts = timezone.now() - timedelta(minutes=5)
    r = api.post(URL, batch(alert(starts_at=starts)), format="json")
    ticket = Ticket.objects.get(ticket_id=r.json()["results"][0]["ticket_id"])
    drain_queue()
    move(ticket, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS)  # a person's fix
    resolve(api, starts, ends_at=timezone.now())
    ticket.refresh_from_db()
    assert ticket.fix_held_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.FIX_CONFIRMED_BY_ALERT).exists()


@pytest.mark.parametrize("storm_control", [True, False])
def test_the_alert_firing_again_within_the_hold_time_refutes_the_confirmation(
    seeded, api, drain_queue, settings, storm_control
):
    settings.OUTCOME_HOLD_SECONDS = 600
    settings.STORM_CONTROL_ENABLED = storm_control
    ticket, starts = fired_and_fixed(api, drain_queue)
    pattern = Pattern.objects.get(pk=ticket.pattern_id)
    assert (pattern.success_count, pattern.failure_count) == (1, 0)
    resolve(api, starts, ends_at=timezone.now())
    ticket.refresh_from_db()
    assert ticket.fix_held_by == FixEvidence.ALERT_RESOLVED

    assert fire_again(api)["outcome"] == "created"  # a new incident, analyzed anew
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.FAILED, TicketOutcome.FAILURE)
    assert ticket.fix_held_at is None and ticket.fix_held_by == ""
    assert "The fix did not hold" in ticket.status_reason
    pattern.refresh_from_db()
    assert (pattern.success_count, pattern.failure_count) == (0, 1)
    [event] = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.FIX_DID_NOT_HOLD)
    assert event.details["refutes"] == "alert_resolved"
    assert_audit_intact()


def test_another_alert_firing_does_not_refute_the_fix(seeded, api, drain_queue, settings):
    settings.OUTCOME_HOLD_SECONDS = 600
    ticket, starts = fired_and_fixed(api, drain_queue)
    resolve(api, starts, ends_at=timezone.now())
    other = alert(
        starts_at=timezone.now(),
        fingerprint="0123456789abcdef",
        instance="prod-web-07:9100",
        alertname="NodeMemoryHighUtilization",
    )
    api.post(URL, batch(other), format="json")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.fix_held_by) == (TicketStatus.RESOLVED, "alert_resolved")


def test_after_the_hold_time_the_alert_firing_again_is_a_new_incident(
    seeded, api, drain_queue, settings
):
    settings.OUTCOME_HOLD_SECONDS = 600
    ticket, starts = fired_and_fixed(api, drain_queue)
    resolve(api, starts, ends_at=timezone.now())
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=timezone.now() - timedelta(hours=1))
    fire_again(api)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.fix_held_by) == (TicketStatus.RESOLVED, "alert_resolved")


def test_a_volume_claim_alert_names_the_claim_not_the_kubelet(seeded, api):
    """KubePersistentVolumeFillingUp carries the kubelet's ``instance``; the claim is the
    object the fix acts on, so the seeded mapping names it."""
    labels = {
        "alertname": "KubePersistentVolumeFillingUp",
        "instance": "k8s-node-03:10250",
        "job": "kubelet",
        "namespace": "default",
        "persistentvolumeclaim": "vol-data-02",
        "severity": "critical",
    }
    r = api.post(URL, batch(alert(labels=labels)), format="json")
    ticket = Ticket.objects.get(ticket_id=r.json()["results"][0]["ticket_id"])
    assert (ticket.affected_system, ticket.category, ticket.severity) == (
        "vol-data-02",
        "storage",
        "critical",
    )
