"""The inbox in Chromium, on a desktop (1280 px) and a phone (390 px): an approver of a team
logs in and lands on the inbox, sees the request waiting with its time left and opens it
with its one action; a reviewer of another team opens a ticket that is not theirs and is
offered nothing to do on it (and the server refuses the act if sent anyway). Screenshots
under ``var/artifacts/inbox/``."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from feedback.models import Review
from policies.models import Team
from tests.support.approvals import approver
from tests.support.dbutil import ROOT
from tests.support.factories import TicketFactory, UserFactory
from tests.web.test_approval_pages import PASSWORD, waiting

pytestmark = [pytest.mark.web, pytest.mark.e2e]

ARTIFACTS = ROOT / "var" / "artifacts" / "inbox"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.django_db(transaction=True)
def test_an_approver_lands_on_the_inbox_and_another_teams_reviewer_cannot_act(
    seeded, live_server, browser_page, width
):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
    base = live_server.url
    submitter = UserFactory(username="submitter")
    carol = approver("carol")
    dave = approver("dave")
    web = Team.objects.create(name="web", categories=["server"])
    web.members.add(carol)
    Team.objects.create(name="storage", categories=["storage"]).members.add(dave)
    ticket = waiting(submitter, "INC-INBOX-1")
    TicketFactory(
        ticket_id="INC-INBOX-R",
        submitted_by=submitter,
        category="server",
        status="manual_review",
        status_reason="Rejected: reliability 55.6% < the policy's 75%",
        title="Disk full on prod-web-01",
    )

    # The approver lands on the inbox after login, their team's items first.
    log_in(page, base, "carol")
    expect(page).to_have_url(f"{base}/inbox/")
    row = page.locator("#inbox tr", has_text=ticket.ticket_id)
    expect(row).to_contain_text("Waiting for approval")
    expect(row).to_contain_text("min left")
    expect(row).to_contain_text("web")
    expect(page.locator("#inbox tr", has_text="INC-INBOX-R")).to_contain_text("Review")
    shot(page, f"1-inbox-{width}")
    row.get_by_role("link", name="Approve or reject").click()
    expect(page).to_have_url(f"{base}/approvals/requests/{ticket.ticket_id}/")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()

    # A reviewer of another team sees the ticket but may not act on it.
    log_in(page, base, "dave")
    expect(page).to_have_url(f"{base}/inbox/")
    other = page.locator("#inbox tr", has_text="INC-INBOX-R")
    expect(other).to_contain_text("web")
    other.get_by_role("link", name="INC-INBOX-R").click()
    expect(page.locator("#not-yours")).to_contain_text("team web")
    expect(page.locator("#take")).to_have_count(0)
    expect(page.locator("#record")).to_have_count(0)
    shot(page, f"2-not-yours-{width}")
    page.goto(f"{base}/approvals/requests/{ticket.ticket_id}/")
    expect(page.locator("#refusal")).to_contain_text("team web")
    # Sent anyway (a stale form, with a valid CSRF token): refused by the server.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(
        f"{base}/reviews/INC-INBOX-R/",
        form={"act": "take", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/reviews/INC-INBOX-R/"},
    )
    assert answer.ok and "only its members decide it" in answer.text()
    assert not Review.objects.filter(ticket__ticket_id="INC-INBOX-R").exclude(assignee=None)
