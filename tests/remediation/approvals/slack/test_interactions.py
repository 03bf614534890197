"""Approving from Slack, end to end with signed requests in Slack's real payload shape and a
fake of Slack's Web API (a local HTTP server answering chat.postMessage as Slack does):
the message and its buttons, a linked approver's click deciding through the approval
service, and every refusal (forged, stale, replayed, unmapped, expired, one's own ticket),
each audited."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from remediation.approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    SlackButton,
    SlackUserLink,
)
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import TicketStatus
from tests.support.approvals import approver, awaiting_ticket, policy
from tests.support.factories import EXPAND_VOLUME
from tests.support.slack import (
    INTERACTIONS_URL,
    SECRET,
    TEAM,
    interaction_body,
    post_signed,
)

pytestmark = pytest.mark.django_db

URL = INTERACTIONS_URL


def posted(lab, user, drain_queue, slack_api, **fields):
    ticket = awaiting_ticket(user, **fields)
    drain_queue()
    [call] = slack_api.of("chat.postMessage")
    buttons = {
        e["action_id"]: e for b in call["blocks"] if b["type"] == "actions" for e in b["elements"]
    }
    return ticket, call, buttons


def payload(token: str, action_id: str, slack_user: str = "U0CAROL01") -> dict:
    """A block_actions payload as Slack sends it for a button click (trimmed of fields we do
    not read, kept to Slack's shape)."""
    return {
        "type": "block_actions",
        "user": {"id": slack_user, "username": "someone", "name": "someone", "team_id": TEAM},
        "api_app_id": "A0APP0001",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": "1765000000.000100",
            "channel_id": "C0APPROVALS",
        },
        "trigger_id": "1234.5678.abcdef",
        "team": {"id": TEAM, "domain": "example"},
        "channel": {"id": "C0APPROVALS", "name": "approvals"},
        "message": {"type": "message", "ts": "1765000000.000100", "text": "..."},
        "response_url": "https://hooks.slack.com/actions/T0TEAM001/1/abc",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "approval-1",
                "text": {"type": "plain_text", "text": action_id.title()},
                "value": token,
                "type": "button",
                "action_ts": "1765000001.000200",
            }
        ],
    }


def click(client, body: dict, *, secret: str = SECRET, age: int = 0):
    """POST the payload form-encoded (``payload=`` JSON), signed as Slack signs."""
    return post_signed(client, URL, interaction_body(body), secret=secret, age=age)


def refusals() -> list[str]:
    return [e.details["why"] for e in AuditEvent.objects.filter(action=AuditAction.SLACK_REFUSED)]


def test_a_linked_approver_approves_from_slack(lab, user, drain_queue, slack_api, carol, client):
    ticket, call, buttons = posted(lab, user, drain_queue, slack_api)
    assert call["channel"] == "C0APPROVALS" and call["auth"] == "Bearer xoxb-test-token"
    section = call["blocks"][0]["text"]["text"]
    assert ticket.ticket_id in section and "restart_vm on prod-web-01" in section
    assert set(buttons) == {"approve", "reject", "open"}
    assert buttons["open"]["url"].endswith(f"/approvals/requests/{ticket.ticket_id}/")
    assert "confirm" not in buttons["approve"]  # not a critical action

    r = click(client, payload(buttons["approve"]["value"], "approve"))
    assert r.status_code == 200, r.content
    assert "handed to execution" in r.json()["text"]
    decision = ApprovalDecision.objects.get(request__ticket=ticket)
    assert (decision.approver, decision.approve, decision.via) == (carol, True, "slack")
    ticket.refresh_from_db()
    assert ticket.status != TicketStatus.AWAITING_APPROVAL


def test_reject_from_slack_records_who(lab, user, drain_queue, slack_api, carol, client):
    ticket, _, buttons = posted(lab, user, drain_queue, slack_api)
    r = click(client, payload(buttons["reject"]["value"], "reject"))
    assert r.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "Rejected in Slack by carol" in ticket.status_reason


def test_a_forged_request_is_refused_and_audited(lab, user, drain_queue, slack_api, carol, client):
    ticket, _, buttons = posted(lab, user, drain_queue, slack_api)
    r = click(client, payload(buttons["approve"]["value"], "approve"), secret="not-the-secret")
    assert r.status_code == 401
    assert refusals() == ["the signature does not match (not from Slack)"]
    assert not ApprovalDecision.objects.filter(request__ticket=ticket).exists()


def test_a_stale_request_is_refused_and_audited(lab, user, drain_queue, slack_api, carol, client):
    ticket, _, buttons = posted(lab, user, drain_queue, slack_api)
    r = click(client, payload(buttons["approve"]["value"], "approve"), age=10 * 60)
    assert r.status_code == 401
    assert refusals() == ["the request is stale (its timestamp is more than five minutes off)"]
    assert not ApprovalDecision.objects.filter(request__ticket=ticket).exists()


def test_a_replayed_click_is_refused(lab, user, drain_queue, slack_api, carol, client):
    ticket, _, buttons = posted(lab, user, drain_queue, slack_api)
    body = payload(buttons["reject"]["value"], "reject")
    assert click(client, body).status_code == 200
    r = click(client, body)  # the same request again, freshly signed (a replay)
    assert "already used" in r.json()["text"]
    assert refusals() == ["this button was already used by you (a replay)"]
    assert ApprovalDecision.objects.filter(request__ticket=ticket).count() == 1


def test_an_unmapped_slack_user_is_refused(lab, user, drain_queue, slack_api, carol, client):
    ticket, _, buttons = posted(lab, user, drain_queue, slack_api)
    r = click(client, payload(buttons["approve"]["value"], "approve", slack_user="U0STRANGER"))
    assert "not linked" in r.json()["text"]
    assert refusals() == [
        "your Slack user is not linked to a user of this system (run /remediation link)"
    ]
    assert not ApprovalDecision.objects.filter(request__ticket=ticket).exists()


def test_an_expired_button_is_refused(lab, user, drain_queue, slack_api, carol, client):
    ticket, _, buttons = posted(lab, user, drain_queue, slack_api)
    SlackButton.objects.update(expires_at=ApprovalRequest.objects.get().opened_at)
    r = click(client, payload(buttons["approve"]["value"], "approve"))
    assert "expired" in r.json()["text"]
    assert not ApprovalDecision.objects.filter(request__ticket=ticket).exists()


def test_the_approval_rules_hold_in_slack_too(lab, user, drain_queue, slack_api, client):
    """The submitter, linked to Slack and holding the permission, cannot approve their own
    ticket there either; an approve token cannot reject; an unknown token is refused."""
    approver(user.username)
    SlackUserLink.objects.create(team_id=TEAM, slack_user_id="U0SUBMIT1", user=user)
    ticket, _, buttons = posted(lab, user, drain_queue, slack_api)
    r = click(client, payload(buttons["approve"]["value"], "approve", slack_user="U0SUBMIT1"))
    assert r.status_code == 200 and "You submitted this ticket" in r.json()["text"]
    r = click(client, payload(buttons["approve"]["value"], "reject", slack_user="U0SUBMIT1"))
    assert r.status_code == 400
    r = click(client, payload("not-a-token", "approve", slack_user="U0SUBMIT1"))
    assert r.status_code == 400
    assert not ApprovalDecision.objects.filter(request__ticket=ticket).exists()
    assert len(refusals()) == 3


def test_a_critical_action_asks_slack_to_confirm(lab, user, drain_queue, slack_api, carol):
    # A critical action waits for people only under a policy that allows it.
    policy(allowed_action_types=["safe_write", "critical_write"])
    _, _, buttons = posted(
        lab,
        user,
        drain_queue,
        slack_api,
        affected_system="vol-data-01",
        suggested_actions=[EXPAND_VOLUME],
    )
    assert buttons["approve"]["confirm"]["title"]["text"] == "Critical action"


def test_garbage_is_refused_never_a_500(lab, slack_api, client, settings):
    for body in (b"", b"payload=%7B", b"payload=[1]", b"x=1", b"payload=\x00"):
        timestamp = str(int(time.time()))
        signature = (
            "v0="
            + hmac.new(
                SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256
            ).hexdigest()
        )
        r = client.generic(
            "POST",
            URL,
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
            HTTP_X_SLACK_SIGNATURE=signature,
        )
        assert r.status_code == 400, (body, r.content)
    assert client.get(URL).status_code == 405
    assert client.post(URL, {}).status_code == 401  # unsigned
    settings.SLACK_SIGNING_SECRET = ""
    assert client.post(URL, {}).status_code == 404  # not configured: nothing there


def test_forged_requests_cannot_flood_the_audit_trail(slack_api, client, monkeypatch, time_machine):
    """Anyone who reaches the URL can send unsigned requests: each is refused, but only the
    first few a minute are audited (the rest are logged)."""
    from remediation.approvals.slack import verify

    monkeypatch.setattr(verify, "UNSIGNED_AUDITS_PER_MINUTE", 2)
    time_machine.move_to("2026-12-07 10:00:05+00:00", tick=False)  # all within one minute
    for _ in range(5):
        r = click(client, payload("whatever", "approve"), secret="not-the-secret")
        assert r.status_code == 401
    assert len(refusals()) == 2


def test_every_text_sent_to_slack_escapes_its_control_sequences(
    lab, user, drain_queue, slack_api, carol, client
):
    """The second outside probe: the notification's fallback ``text`` carried the ticket's
    title unescaped, so a title could say ``<!channel>`` (notify everyone) or forge a
    link. Every text sent to Slack escapes &, < and >."""
    title = "<!channel> disk <https://evil.example|click> & more"
    _, call, _ = posted(lab, user, drain_queue, slack_api, title=title)
    for text in (call["text"], call["blocks"][0]["text"]["text"]):
        assert "<!channel>" not in text and "<https://" not in text
        assert "&lt;!channel&gt; disk &lt;https://evil.example|click&gt; &amp; more" in text
