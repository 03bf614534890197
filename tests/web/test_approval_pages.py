"""The approval pages in a real browser: Debian's headless Chromium driven by Playwright,
against a live server, with a real ``qcluster`` worker beside it.

Screenshots are kept under ``var/artifacts/approvals/`` as artifacts of the run.

``test_an_approved_ticket_is_resolved_on_the_lab`` needs the real execution of issue [5/10]
(branch issue8); while the placeholder ``remediation.execution.services`` is installed it
is skipped, and says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from remediation.approvals.models import ApprovalRequest, ApprovalStatus
from remediation.connectors import registry
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.approvals import approver, awaiting_ticket
from tests.support.dbutil import ROOT
from tests.support.doubles import LabDouble
from tests.support.factories import UserFactory

pytestmark = [pytest.mark.web, pytest.mark.e2e]

PASSWORD = "correct horse battery staple"  # tests.support.factories.UserFactory's
ARTIFACTS = ROOT / "var" / "artifacts" / "approvals"


def shot(page: Page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/approvals/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/approvals/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def waiting(submitter, ticket_id: str) -> Ticket:
    with registry.use(LabDouble()):
        return awaiting_ticket(
            submitter,
            ticket_id=ticket_id,
            title=f"Web service down on prod-web-01 ({ticket_id})",
            affected_system="prod-web-01",
        )


def approve_in_browser(page: Page, base: str, ticket: Ticket) -> None:
    log_in(page, base, "carol")
    expect(page).to_have_url(f"{base}/approvals/")
    row = page.locator("table.queue tr", has_text=ticket.ticket_id)
    expect(row).to_contain_text("0 of 1")
    expect(row).to_contain_text("72.5")
    shot(page, "1-queue-phone")
    row.get_by_role("link", name=ticket.ticket_id).click()
    expect(page.locator("h1")).to_contain_text(ticket.ticket_id)
    expect(page.locator(".bars")).to_contain_text("ai confidence")
    expect(page.locator(".bars .fill").first).to_be_visible()
    expect(page.locator(".action")).to_contain_text("Restart prod-web-01")
    expect(page.locator(".action")).to_contain_text("simulated lab")
    shot(page, "2-request")
    page.fill("#id_comment", "Checked the host; go ahead.")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".message.success")).to_contain_text("handed to execution")
    shot(page, "3-approved")


@pytest.mark.django_db(transaction=True)
def test_an_approver_logs_in_reviews_and_approves(seeded, live_server, browser_page, worker):
    submitter = UserFactory(username="submitter")
    approver("carol")
    ticket = waiting(submitter, "INC-WEB-1")

    approve_in_browser(browser_page, live_server.url, ticket)

    ticket.refresh_from_db()
    assert ticket.status != TicketStatus.AWAITING_APPROVAL
    assert ApprovalRequest.objects.get(ticket=ticket).status == ApprovalStatus.APPROVED


@pytest.mark.django_db(transaction=True)
def test_an_approved_ticket_is_resolved_on_the_lab(seeded, live_server, browser_page, worker):
    submitter = UserFactory(username="submitter")
    approver("carol")
    ticket = waiting(submitter, "INC-WEB-LAB")
    page = browser_page

    approve_in_browser(page, live_server.url, ticket)

    # The worker runs the approved actions against the lab; the page follows the ticket
    # by itself (it polls its status), no reload.
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#ticket-status")).to_have_text("Resolved", timeout=60_000)
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "4-resolved-on-the-lab")


def above_the_fold(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


@pytest.mark.django_db(transaction=True)
def test_the_first_screen_holds_the_decision_on_a_desktop_and_a_phone(
    seeded, live_server, browser_page
):
    submitter = UserFactory(username="submitter")
    approver("carol")
    ticket = waiting(submitter, "INC-WEB-FOLD")
    page = browser_page
    log_in(page, live_server.url, "carol")
    for width, height, name in ((390, 844, "phone"), (1280, 800, "desktop")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/approvals/requests/{ticket.ticket_id}/")
        expect(page.locator("#will-run")).to_contain_text("restart_vm on prod-web-01")
        for selector in (
            "#will-run",
            "#risk-level",
            "#why-person",
            "button.approve",
            "button.reject",
        ):
            assert above_the_fold(page, selector), (name, selector)
        page.screenshot(path=str(ARTIFACTS / f"8-first-screen-{name}.png"))


@pytest.mark.django_db(transaction=True)
def test_an_outsider_is_refused(seeded, live_server, browser_page):
    UserFactory(username="mallory")
    page = browser_page
    log_in(page, live_server.url, "mallory")
    expect(page.locator("h1")).to_have_text("Not allowed")
    shot(page, "5-outsider-refused")
    response = page.goto(f"{live_server.url}/approvals/history/")
    assert response is not None and response.status == 403


@pytest.mark.django_db(transaction=True)
def test_an_approver_rejects_with_a_comment(seeded, live_server, browser_page):
    submitter = UserFactory(username="submitter")
    approver("dave")
    ticket = waiting(submitter, "INC-WEB-2")
    page = browser_page
    base = live_server.url

    log_in(page, base, "dave")
    page.get_by_role("link", name=ticket.ticket_id).click()
    page.get_by_role("button", name="Reject").click()  # no comment yet
    expect(page.locator("#decide form")).to_contain_text("a comment is required")
    page.fill("#id_comment", "Not during the release freeze.")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".message.error, .message.success").first).to_contain_text(
        "Rejected by dave: Not during the release freeze."
    )
    expect(page.locator("#request-status")).to_have_text("Rejected")
    shot(page, "6-rejected")
    page.goto(f"{base}/approvals/history/")
    expect(page.locator("table.queue")).to_contain_text("Not during the release freeze.")
    shot(page, "7-history")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
