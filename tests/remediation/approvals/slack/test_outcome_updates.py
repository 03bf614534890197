"""A measured fix confirmed or refuted tells its approval message in Slack, once, whichever
path noticed: storm control at intake (the same incident reported again), the Alertmanager
intake (the same alert firing again, or resolving), or the re-check at the end of the hold
time. Each path goes through ``remediation.tickets.outcomes``, which records the change (the
pattern counts it once), its audit row and the Slack update in one transaction.

The fix is a real one: approved over the API, executed on the lab, its message posted to a
local fake of Slack's Web API that keeps every call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from patterns.models import Pattern
from remediation.alerts.models import AlertRecord
from remediation.audit.models import AuditAction, AuditEvent
from remediation.notifications.models import SlackMessage, SlackUpdate
from remediation.tasks import confirm_fix
from remediation.tickets import storm
from remediation.tickets.models import TicketOutcome, TicketStatus
from tests.support.alerts import URL as ALERTS_URL
from tests.support.alerts import alert, batch
from tests.support.approvals import approver, awaiting_ticket
from tests.support.execution import LAB_CATEGORY, action, lab_policy

pytestmark = pytest.mark.django_db

TITLE = "Web service down on prod-web-04"
DESCRIPTION = "VM prod-web-04 hung: web service not responding."
SYSTEM = "prod-web-04"


@pytest.fixture
def lab_path(tmp_path, settings):
    from lab.state import LabState

    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 1000
    settings.OUTCOME_HOLD_SECONDS = 3600
    return path


def thread(slack_api, ts: str) -> list[str]:
    return [c["text"] for c in slack_api.of("chat.postMessage") if c.get("thread_ts") == ts]


@pytest.fixture
def fixed(lab_path, seeded, user, drain_queue, slack_api, client_for):
    """A ticket whose approval message is out in Slack, approved, executed on the lab and
    resolved: a measured fix on hold. Registered with storm control as its intake does."""
    lab_policy(auto_approve_threshold=None, min_reliability_score=50.0, min_confidence_score=0.5)
    ticket = awaiting_ticket(
        user,
        category=LAB_CATEGORY,
        title=TITLE,
        description=DESCRIPTION,
        affected_system=SYSTEM,
        suggested_actions=[action("restart_vm", vm=SYSTEM)],
    )
    with transaction.atomic():  # as ticket_create registers the tickets it makes
        claim = storm.storm_claim(
            ticket_id="INC-STORM-SEED",
            category=LAB_CATEGORY,
            title=TITLE,
            description=DESCRIPTION,
            affected_system=SYSTEM,
            source="api",
            acting_user=user,
        )
        assert claim.joined is None
        storm.storm_register(claim, ticket)
    drain_queue()
    dave = approver("dave", email="dave@example.com")
    r = client_for(dave).post(
        f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation", {"approve": True}, format="json"
    )
    assert r.status_code == 200, r.content
    drain_queue()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.RESOLVED, TicketOutcome.SUCCESS)
    assert ticket.auto_remediation_executed
    return ticket


def counts(ticket) -> tuple[int, int]:
    pattern = Pattern.objects.get(pk=ticket.pattern_id)
    return pattern.success_count, pattern.failure_count


def refuted_updates(ticket) -> list[SlackUpdate]:
    return list(SlackUpdate.objects.filter(ticket=ticket, event="did_not_hold"))


def test_storm_control_refuting_a_fix_updates_its_slack_message_once(
    fixed, user, api, drain_queue, slack_api
):
    success, failure = counts(fixed)
    message = SlackMessage.objects.get(ticket=fixed)
    updates_before = len(slack_api.of("chat.update"))

    # The same incident, reported again by the same sender under a new id, within the hold.
    r = api.post(
        "/api/v1/tickets",
        {
            "ticket_id": "INC-STORM-AGAIN",
            "title": TITLE,
            "description": DESCRIPTION,
            "category": LAB_CATEGORY,
            "affected_system": SYSTEM,
        },
        format="json",
    )
    assert r.status_code == 201, r.json()  # the old one is over: a new incident
    fixed.refresh_from_db()
    assert (fixed.status, fixed.outcome) == (TicketStatus.FAILED, TicketOutcome.FAILURE)
    assert "INC-STORM-AGAIN (api) reported it again" in fixed.status_reason
    assert counts(fixed) == (success - 1, failure + 1)
    [event] = AuditEvent.objects.filter(ticket=fixed, action=AuditAction.FIX_DID_NOT_HOLD)
    [update] = refuted_updates(fixed)
    assert update.detail == event.details["why"]

    drain_queue()
    updates = slack_api.of("chat.update")[updates_before:]
    assert updates and all(
        (u["channel"], u["ts"]) == (message.channel, message.ts) for u in updates
    )
    assert "The fix did not hold" in updates[-1]["blocks"][0]["text"]["text"]
    lines = [t for t in thread(slack_api, message.ts) if t.startswith("The fix did not hold: ")]
    assert lines == [f"The fix did not hold: {event.details['why']}"]

    # The re-check at the end of the hold time finds nothing left to confirm or refute.
    assert confirm_fix(fixed.pk) == "nothing to confirm"
    drain_queue()
    assert len(refuted_updates(fixed)) == 1
    assert counts(fixed) == (success - 1, failure + 1)


def test_the_same_refutation_seen_by_both_intakes_counts_and_tells_once(
    fixed, user, api, drain_queue, slack_api
):
    """Its alert fires again: storm control and the alert intake both notice; the fix is
    refuted once, the pattern counts one failure, Slack gets one line."""
    success, failure = counts(fixed)
    first = timezone.now() - timedelta(minutes=10)
    AlertRecord.objects.create(  # the firing the ticket was opened for
        key="am-seed",
        fingerprint="feedc0ffee000001",
        ticket=fixed,
        submitted_by=user,
        starts_at=first,
        labels={"alertname": "InstanceDown", "instance": f"{SYSTEM}:9100"},
    )
    r = api.post(
        "/api/v1/tickets",
        {
            "ticket_id": "INC-STORM-AGAIN",
            "title": TITLE,
            "description": DESCRIPTION,
            "category": LAB_CATEGORY,
            "affected_system": SYSTEM,
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    again = alert(fingerprint="feedc0ffee000001", starts_at=timezone.now(), instance=SYSTEM)
    r = api.post(ALERTS_URL, batch(again), format="json")
    assert r.status_code == 200, r.json()
    drain_queue()

    fixed.refresh_from_db()
    assert fixed.status == TicketStatus.FAILED
    assert counts(fixed) == (success - 1, failure + 1)
    assert AuditEvent.objects.filter(ticket=fixed, action=AuditAction.FIX_DID_NOT_HOLD).count() == 1
    assert len(refuted_updates(fixed)) == 1
    message = SlackMessage.objects.get(ticket=fixed)
    lines = [t for t in thread(slack_api, message.ts) if t.startswith("The fix did not hold")]
    assert len(lines) == 1


def test_the_alert_intake_refuting_a_fix_updates_its_slack_message_once(
    fixed, user, api, drain_queue, slack_api, settings
):
    settings.STORM_CONTROL_ENABLED = False  # the alert intake alone notices
    success, failure = counts(fixed)
    AlertRecord.objects.create(
        key="am-seed",
        fingerprint="feedc0ffee000002",
        ticket=fixed,
        submitted_by=user,
        starts_at=timezone.now() - timedelta(minutes=10),
        labels={"alertname": "InstanceDown"},
    )
    for _ in range(2):  # Alertmanager delivers the new firing twice
        again = alert(fingerprint="feedc0ffee000002", starts_at=timezone.now().replace(second=0))
        r = api.post(ALERTS_URL, batch(again), format="json")
        assert r.status_code == 200, r.json()
    drain_queue()
    fixed.refresh_from_db()
    assert fixed.status == TicketStatus.FAILED
    assert "its alert InstanceDown fired again" in fixed.status_reason
    assert counts(fixed) == (success - 1, failure + 1)
    assert len(refuted_updates(fixed)) == 1
    message = SlackMessage.objects.get(ticket=fixed)
    lines = [t for t in thread(slack_api, message.ts) if t.startswith("The fix did not hold")]
    assert len(lines) == 1


def test_its_alert_resolving_confirms_the_fix_in_slack_once(
    fixed, user, api, drain_queue, slack_api
):
    starts = timezone.now() - timedelta(hours=1)
    AlertRecord.objects.create(
        key="am-seed",
        fingerprint="feedc0ffee000003",
        ticket=fixed,
        submitted_by=user,
        starts_at=starts,
        labels={"alertname": "InstanceDown"},
    )
    resolved = alert(
        status="resolved", fingerprint="feedc0ffee000003", starts_at=starts, ends_at=timezone.now()
    )
    for _ in range(2):  # re-sent: confirmed and told once
        r = api.post(ALERTS_URL, batch(resolved, status="resolved"), format="json")
        assert r.status_code == 200, r.json()
    drain_queue()
    fixed.refresh_from_db()
    assert fixed.fix_held_by == "alert_resolved"
    held = SlackUpdate.objects.filter(ticket=fixed, event="held")
    assert held.count() == 1
    message = SlackMessage.objects.get(ticket=fixed)
    lines = [t for t in thread(slack_api, message.ts) if t.startswith("The fix held: ")]
    assert lines == [
        "The fix held: its alert resolved after the fix (confirmed by the environment)"
    ]


def test_the_recheck_confirming_the_fix_tells_slack_once(fixed, drain_queue, slack_api):
    assert confirm_fix(fixed.pk) == "held"
    assert confirm_fix(fixed.pk) == "nothing to confirm"  # delivered twice
    drain_queue()
    assert SlackUpdate.objects.filter(ticket=fixed, event="held").count() == 1
    message = SlackMessage.objects.get(ticket=fixed)
    assert len([t for t in thread(slack_api, message.ts) if t.startswith("The fix held")]) == 1


def test_confirmations_and_refutations_are_announced_only_by_outcomes():
    """No path queues the Slack line of a confirmation or a refutation itself: each goes
    through ``remediation.tickets.outcomes``, which does the rest with it."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[4]
    pattern = re.compile(r"event\s*=\s*\"(held|did_not_hold)\"")
    offenders = [
        str(path.relative_to(root))
        for base in ("remediation", "feedback", "patterns", "policies")
        for path in (root / base).rglob("*.py")
        if pattern.search(path.read_text()) and path.name != "outcomes.py"
    ]
    assert offenders == []
