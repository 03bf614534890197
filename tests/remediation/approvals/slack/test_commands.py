"""``/remediation`` as Slack sends it (a signed ``application/x-www-form-urlencoded`` form):
``link``, and ``status | pause [category] reason… | resume [category]`` under the kill
switch's own permission; every answer ephemeral; pauses audited as any other; anything
malformed or unsigned refused with a 4xx, never a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from policies.models import RemediationPause
from remediation.approvals.models import SlackUserLink
from remediation.audit.models import AuditAction, AuditEvent
from tests.support.execution import lab_policy
from tests.support.factories import UserFactory
from tests.support.slack import COMMANDS_URL, TEAM, command_body, post_signed

pytestmark = pytest.mark.django_db


def run(client, text: str, *, user: str = "U0OPS0001", **sign):
    return post_signed(client, COMMANDS_URL, command_body(text, user=user), **sign)


@pytest.fixture
def oncall(db):
    """A user holding the kill switch's permission, linked to the Slack user U0OPS0001."""
    user = UserFactory(username="oncall")
    user.user_permissions.add(Permission.objects.get(codename="pause_remediation"))
    SlackUserLink.objects.create(team_id=TEAM, slack_user_id="U0OPS0001", user=user)
    return user


def said(r) -> str:
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["response_type"] == "ephemeral"
    return body["text"]


def test_pause_status_resume_as_the_linked_user(slack_api, oncall, client):
    assert "not paused" in said(run(client, "status"))

    text = said(run(client, "pause the storage array is being replaced"))
    assert text == "Paused auto-remediation for every category: the storage array is being replaced"
    pause = RemediationPause.objects.get()
    assert (pause.category, pause.paused_by) == ("", oncall)
    event = AuditEvent.objects.get(action=AuditAction.REMEDIATION_PAUSED)
    assert event.actor == oncall  # audited as the web and API pause are
    assert "by oncall: the storage array is being replaced" in event.message

    status = said(run(client, "status"))
    assert "Paused for every category by oncall" in status
    assert said(run(client, "resume")) == "Resumed auto-remediation for every category."
    assert not RemediationPause.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.REMEDIATION_RESUMED).count() == 1
    assert slack_api.calls == []  # answered in the response, nothing through the Web API


def test_pause_of_one_category(slack_api, oncall, client, seeded):
    lab_policy()  # something names the category "lab"
    text = said(run(client, "pause LAB flapping link on the lab switch"))
    assert text == "Paused auto-remediation for category lab: flapping link on the lab switch"
    assert RemediationPause.objects.get().category == "lab"
    # Again: nothing changes, the first reason stands.
    assert "Already paused for category lab" in said(run(client, "pause lab another reason"))
    assert said(run(client, "resume lab")) == "Resumed auto-remediation for category lab."
    assert said(run(client, "resume lab")) == "Category lab was not paused."


def test_a_word_no_category_names_pauses_everything(slack_api, oncall, client):
    """A mistyped category pauses more, never less: it is read as the reason."""
    text = said(run(client, "pause lba flapping"))
    assert text == "Paused auto-remediation for every category: lba flapping"
    assert RemediationPause.objects.get().category == ""


def test_a_pause_needs_a_reason(slack_api, oncall, client):
    assert "say why" in said(run(client, "pause"))
    assert not RemediationPause.objects.exists()


def test_without_the_permission_nothing_is_paused(slack_api, client):
    plain = UserFactory(username="plain")
    SlackUserLink.objects.create(team_id=TEAM, slack_user_id="U0PLAIN01", user=plain)
    for text in ("pause now", "resume", "status"):
        answer = said(run(client, text, user="U0PLAIN01"))
        assert "may not pause or resume" in answer
    assert not RemediationPause.objects.exists()
    refused = AuditEvent.objects.filter(action=AuditAction.SLACK_REFUSED)
    assert refused.count() == 3


def test_an_unlinked_slack_user_is_told_to_link(slack_api, client):
    answer = said(run(client, "pause now", user="U0NOBODY1"))
    assert "not linked" in answer and "/remediation link" in answer
    assert not RemediationPause.objects.exists()


def test_an_inactive_user_acts_no_more(slack_api, oncall, client):
    oncall.is_active = False
    oncall.save()
    assert "not linked" in said(run(client, "pause now"))
    assert not RemediationPause.objects.exists()


def test_help_and_unknown_words(slack_api, oncall, client):
    assert "/remediation pause" in said(run(client, ""))
    assert "unknown command" in said(run(client, "explode"))


def test_the_answers_escape_what_they_repeat(slack_api, oncall, client):
    text = said(run(client, "pause <!channel> & <https://evil.example|x>"))
    assert (
        "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;https://evil.example|x&gt;" in text
    )


def test_forged_stale_and_unsigned_commands_are_refused(slack_api, oncall, client):
    assert run(client, "pause now", secret="not-the-secret").status_code == 401
    assert run(client, "pause now", age=10 * 60).status_code == 401
    assert client.post(COMMANDS_URL, {"text": "pause now"}).status_code == 401
    assert client.get(COMMANDS_URL).status_code == 405
    assert not RemediationPause.objects.exists()


def test_garbage_is_4xx_never_500(slack_api, oncall, client, settings):
    bodies = [
        b"",
        b"x=1",
        b"team_id=T1&user_id=U1",  # no command
        command_body("pause a\x00b").encode(),  # a NUL byte in the text
        command_body("pause now").encode() + b"&team_id=T2",  # a field twice
        b"team_id=%ff&user_id=U1&command=/remediation",  # not UTF-8
        command_body("pause now", user="U1;DROP").encode(),
        b"\x00\x01\x02",
        command_body("pause " + "x" * 2000).encode(),
    ]
    for body in bodies:
        r = post_signed(client, COMMANDS_URL, body)
        assert 400 <= r.status_code < 500, (body[:60], r.status_code, r.content)
    huge = command_body("pause " + "x" * 70_000).encode()
    assert post_signed(client, COMMANDS_URL, huge).status_code == 413
    r = client.generic(
        "POST",
        COMMANDS_URL,
        b"text=status",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP="\u00e9" * 5,
        HTTP_X_SLACK_SIGNATURE="v0=\u00e9",
    )
    assert r.status_code == 401
    assert not RemediationPause.objects.exists()
    settings.SLACK_SIGNING_SECRET = ""
    assert run(client, "status").status_code == 404  # not configured: nothing there


def test_link_answers_a_one_time_link_only_its_asker_sees(slack_api, client):
    body = said(run(client, "link", user="U0NEW0001"))
    assert "works once, for 15 minutes" in body
    assert "<http://" in body and "/integrations/slack/link/" in body and "|link>" in body
