"""A Slack user links itself: ``/remediation link`` (signed by Slack) answers a signed
one-time link; signed in on the web, its owner confirms (POST) and the Slack user acts as
them from then on, audited. Reuse, expiry, an altered token, another user's link and a Slack
user linked to someone else are refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from remediation.approvals.models import SlackUserLink
from remediation.approvals.slack.links import SALT
from remediation.audit.models import AuditAction, AuditEvent
from tests.support.approvals import approver
from tests.support.factories import UserFactory
from tests.support.slack import COMMANDS_URL, TEAM, command_body, post_signed

pytestmark = pytest.mark.django_db


def link_from_slack(client, slack_user: str = "U0ERIN001", account: str = "") -> str:
    """Run ``/remediation link`` as Slack sends it; the path of the link it answers."""
    text = "link" + (f" {account}" if account else "")
    r = post_signed(client, COMMANDS_URL, command_body(text, user=slack_user, user_name="erin"))
    assert r.status_code == 200 and r.json()["response_type"] == "ephemeral"
    url = re.search(r"<(https?://[^|>]+)\|link>", r.json()["text"]).group(1)
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def erin(db):
    return approver("erin", email="erin@example.com")


def test_the_owner_links_its_slack_user_and_it_is_audited(slack_api, client, erin):
    path = link_from_slack(client)
    assert client.get(path).status_code == 302  # signed out: to the login page first
    client.force_login(erin)
    page = client.get(path)
    assert page.status_code == 200
    assert "U0ERIN001" in page.content.decode() and "erin" in page.content.decode()
    assert not SlackUserLink.objects.exists()  # looking links nothing

    done = client.post(path)
    assert done.status_code == 200 and "Linked" in done.content.decode()
    link = SlackUserLink.objects.get()
    assert (link.team_id, link.slack_user_id, link.user) == (TEAM, "U0ERIN001", erin)
    event = AuditEvent.objects.get(action=AuditAction.SLACK_LINKED)
    assert event.actor == erin and event.details["slack_user"] == "U0ERIN001"


def test_a_link_works_once(slack_api, client, erin):
    path = link_from_slack(client)
    client.force_login(erin)
    assert client.post(path).status_code == 200
    again = client.post(path)
    assert again.status_code == 409 and "used already" in again.content.decode()
    assert client.get(path).status_code == 409
    assert SlackUserLink.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.SLACK_LINKED).count() == 1


def test_an_expired_link_is_refused(slack_api, client, erin):
    path = link_from_slack(client)
    client.force_login(erin)
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        r = client.post(path)
    assert r.status_code == 400 and "expired" in r.content.decode()
    assert not SlackUserLink.objects.exists()


def test_an_altered_or_foreign_token_is_refused(slack_api, client, erin):
    path = link_from_slack(client)
    client.force_login(erin)
    token = path.rsplit("/", 1)[1]
    forged = signing.dumps(  # the right salt, another key: not ours
        {"team": TEAM, "user": "U0EVIL001", "nonce": "n" * 20}, salt=SALT, key="not-our-key"
    )
    other_salt = signing.dumps({"team": TEAM, "user": "U0EVIL001", "nonce": "n" * 20})
    for bad in (token[:-2] + "xx", forged, other_salt, "garbage", "a" * 300):
        r = client.post(f"/integrations/slack/link/{bad}")
        assert r.status_code == 400, bad
    assert not SlackUserLink.objects.exists()


def test_a_link_made_for_another_account_is_refused(slack_api, client, erin):
    path = link_from_slack(client, account="frank")
    client.force_login(erin)
    assert client.get(path).status_code == 403
    r = client.post(path)
    assert r.status_code == 403 and "another user" in r.content.decode()
    assert not SlackUserLink.objects.exists()
    frank = UserFactory(username="frank")
    client.force_login(frank)
    assert client.post(path).status_code == 200
    assert SlackUserLink.objects.get().user == frank


def test_a_slack_user_linked_to_someone_else_is_not_taken_over(slack_api, client, erin):
    frank = UserFactory(username="frank")
    SlackUserLink.objects.create(team_id=TEAM, slack_user_id="U0ERIN001", user=frank)
    path = link_from_slack(client)
    client.force_login(erin)
    r = client.post(path)
    assert r.status_code == 409 and "linked to another account" in r.content.decode()
    assert SlackUserLink.objects.get().user == frank
    refusal = AuditEvent.objects.filter(action=AuditAction.SLACK_REFUSED).last()
    assert refusal.details["code"] == "linked_to_another_user"


def test_the_link_needs_a_csrf_token(slack_api, erin):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    path = link_from_slack(strict)  # Slack's request is exempt: it is signed
    strict.force_login(erin)
    assert strict.post(path).status_code == 403
    assert not SlackUserLink.objects.exists()


def test_once_linked_its_clicks_act_as_the_owner(slack_api, client, erin, lab, user, drain_queue):
    from tests.support.approvals import awaiting_ticket
    from tests.support.slack import INTERACTIONS_URL, interaction_body

    path = link_from_slack(client)
    client.force_login(erin)
    client.post(path)
    client.logout()
    ticket = awaiting_ticket(user)
    drain_queue()
    [post] = slack_api.of("chat.postMessage")
    token = next(
        e["value"]
        for b in post["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "reject"
    )
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ERIN001", "team_id": TEAM},
        "team": {"id": TEAM},
        "actions": [{"action_id": "reject", "value": token, "type": "button"}],
    }
    r = post_signed(client, INTERACTIONS_URL, interaction_body(payload))
    assert r.status_code == 200 and "Rejected by erin" in r.json()["text"]
    ticket.refresh_from_db()
    assert ticket.status == "manual_review"
