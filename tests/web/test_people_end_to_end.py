"""The people's loop in one pass, in Chromium at a laptop's and a phone's width: an approver
signs in through the OpenID provider (npm's oidc-provider, started by the tests), lands on
the inbox, opens the request from it, approves, and watches the ticket resolve on the lab
(a real ``qcluster`` worker); the approval message in Slack (a local fake of Slack's Web
API that records every call) was posted when the request opened and is updated in place
with who approved and what ran. Screenshots under ``var/artifacts/people/``."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from remediation.notifications.models import SlackMessage
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.approvals import policy
from tests.support.dbutil import ROOT, start_manage, stop, wait_for
from tests.support.slack import BOT_TOKEN, CHANNEL, SECRET, FakeSlack
from tests.web.test_oidc_sign_in import landing, provider, sign_in, sso, waiting  # noqa: F401

pytestmark = [pytest.mark.web, pytest.mark.e2e]

ARTIFACTS = ROOT / "var" / "artifacts" / "people"
WIDTHS = {"laptop": 1280, "phone": 390}


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def slack(settings):
    fake = FakeSlack()
    settings.SLACK_SIGNING_SECRET = SECRET
    settings.SLACK_BOT_TOKEN = BOT_TOKEN
    settings.SLACK_APPROVAL_CHANNEL = CHANNEL
    settings.SLACK_API_URL = fake.url
    yield fake
    fake.stop()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.django_db(transaction=True)
def test_an_approver_signs_in_lands_on_the_inbox_approves_and_slack_follows(
    sso,  # noqa: F811
    slack,
    live_server,
    browser_page,
    tmp_path,
    width,
):
    sso.account("alice", groups=["sre-approvers"])
    policy("server")
    # The worker delivers the approval notice to Slack and later runs the fix on the lab.
    worker = start_manage(
        "qcluster",
        log=tmp_path / "qcluster.log",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APPROVAL_CHANNEL=CHANNEL,
        SLACK_API_URL=slack.url,
    )
    try:
        ticket = waiting(f"INC-PPL-{width.upper()}")
        wait_for(lambda: slack.of("chat.postMessage"), timeout=60)
        [posted] = slack.of("chat.postMessage")
        assert ticket.ticket_id in posted["text"]
        page = browser_page
        page.set_viewport_size({"width": WIDTHS[width], "height": 900})

        sign_in(page, live_server.url, "alice")
        expect(page).to_have_url(landing(live_server.url))
        assert django_settings.LOGIN_REDIRECT_URL.rstrip("/").endswith("inbox")
        row = page.locator(f'#inbox tr[data-ticket="{ticket.ticket_id}"]')
        expect(row).to_contain_text("Waiting for approval")
        shot(page, f"{width}-1-inbox")
        row.locator("td[data-label=Action] a").click()

        expect(page.locator("#will-run")).to_contain_text("restart_vm on prod-web-01")
        shot(page, f"{width}-2-approval-page")
        page.fill("#id_comment", "Signed in through the provider; go ahead.")
        page.get_by_role("button", name="Approve").click()
        expect(page.locator(".message.success")).to_contain_text("handed to execution")
        expect(page.locator("#ticket-status")).to_have_text("Resolved", timeout=90_000)
        shot(page, f"{width}-3-resolved")
        assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.RESOLVED

        message = SlackMessage.objects.get(ticket=ticket)

        def approved_in_slack():
            return [
                u
                for u in slack.of("chat.update")
                if u.get("ts") == message.ts and "Approved by" in str(u.get("blocks"))
            ]

        assert wait_for(approved_in_slack, timeout=60), slack.calls
        update = approved_in_slack()[-1]
        assert update["channel"] == message.channel == CHANNEL
        blocks = str(update["blocks"])
        assert "Approved by" in blocks and "alice" in blocks
        # The buttons went away once the request was decided; only "Open" stays.
        actions = [b for b in update["blocks"] if b["type"] == "actions"]
        assert {e["action_id"] for b in actions for e in b["elements"]} == {"open"}
        threaded = [c for c in slack.of("chat.postMessage") if c.get("thread_ts") == message.ts]
        assert any(c["text"].startswith("Approved by") for c in threaded), threaded

        page.goto(f"{live_server.url}/stats/analytics/")
        expect(page.locator("h1")).to_be_visible()
        shot(page, f"{width}-4-analytics")
    finally:
        stop(worker)
