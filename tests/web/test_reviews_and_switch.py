"""The people around it, in Chromium against a live server with a real ``qcluster`` worker:
a reviewer takes a manual-review ticket and runs its proposal, a second approver approves it
on the approval page at phone width and watches it reach resolved without reloading;
another person records a hand fix; the kill switch flipped in the admin stops a queued
execution. Screenshots under ``var/artifacts/reviews/``."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from policies.models import RemediationPause
from remediation.execution.models import Execution, ExecutionState
from remediation.tickets.models import Ticket, TicketStatus
from tests.conftest import make_teacher
from tests.support.approvals import approver, policy
from tests.support.dbutil import ROOT, start_manage, stop
from tests.support.execution import action, approved_ticket
from tests.support.factories import RESTART_VM, TicketFactory, UserFactory
from tests.web.test_approval_pages import log_in

pytestmark = [pytest.mark.web, pytest.mark.e2e]

ARTIFACTS = ROOT / "var" / "artifacts" / "reviews"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def manual(submitter, ticket_id: str, vm: str) -> Ticket:
    return TicketFactory(
        ticket_id=ticket_id,
        submitted_by=submitter,
        category="server",
        status=TicketStatus.MANUAL_REVIEW,
        status_reason="Rejected: reliability 72.5% < the policy's 85%",
        title=f"Web service down on {vm}",
        affected_system=vm,
        suggested_actions=[
            {**RESTART_VM, "action": f"Restart {vm}", "system": vm, "params": {"vm": vm}}
        ],
        analyzer="local",
        confidence_score=0.9,
        reliability_score=72.5,
        decision_policy="server-policy",
        auto_remediation_enabled=True,
    )


@pytest.mark.django_db(transaction=True)
def test_a_reviewer_runs_a_proposal_that_a_second_approver_approves(
    seeded,
    live_server,
    browser_page,
    worker,
):
    policy("server", required_approvals=2)
    submitter = UserFactory(username="submitter")
    approver("rita")
    approver("carol")
    ticket = manual(submitter, "INC-REV-1", "prod-web-01")
    page, base = browser_page, live_server.url

    log_in(page, base, "rita")
    page.goto(f"{base}/reviews/")
    expect(page.locator("#reviews")).to_contain_text("reliability 72.5% < the policy's 85%")
    shot(page, "1-queue")
    page.get_by_role("link", name=ticket.ticket_id).click()
    page.get_by_role("button", name="Take it").click()
    expect(page.locator("#assignee")).to_contain_text("Taken by rita")
    page.get_by_role("button", name="Run the proposal (I approve)").click()
    expect(page.locator(".message.success")).to_contain_text("1 of 2")
    shot(page, "2-run-first-approval")

    log_in(page, base, "carol")
    page.goto(f"{base}/approvals/requests/{ticket.ticket_id}/")
    expect(page.locator("#will-run")).to_contain_text("restart_vm on prod-web-01")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".message.success")).to_contain_text("handed to execution")
    expect(page.locator("#ticket-status")).to_have_text("Resolved", timeout=60_000)
    shot(page, "3-second-approver-resolved")


@pytest.mark.django_db(transaction=True)
def test_an_operator_records_a_hand_fix(seeded, live_server, browser_page):
    operator = make_teacher(UserFactory(username="otto"))
    operator.save()
    ticket = manual(UserFactory(username="submitter"), "INC-REV-2", "prod-web-02")
    page, base = browser_page, live_server.url
    log_in(page, base, "otto")
    page.goto(f"{base}/reviews/{ticket.ticket_id}/")
    page.select_option("#id_operation", "restart_vm")
    page.fill("#id_target", "prod-web-02")
    page.fill("#id_what_you_did", "Restarted it from vCenter; the site answers.")
    page.get_by_role("button", name="Record it").click()
    expect(page.locator(".message.success")).to_contain_text("it teaches the pattern")
    expect(page.locator("#ticket-status")).to_have_text("Resolved")
    shot(page, "4-hand-fix")
    ticket.refresh_from_db()
    assert ticket.outcome == "success"


@pytest.mark.django_db(transaction=True)
def test_the_kill_switch_flipped_in_the_admin_stops_a_queued_execution(
    seeded,
    live_server,
    browser_page,
    tmp_path,
):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin.save()
    ticket = approved_ticket([action("restart_vm", vm="prod-web-05")])  # queued, no worker yet
    page, base = browser_page, live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "correct horse battery staple")
    page.click("input[type=submit]")
    page.goto(f"{base}/admin/policies/remediationpause/add/")
    page.fill("#id_reason", "change freeze")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    shot(page, "5-kill-switch-in-the-admin")
    assert RemediationPause.objects.get().category == ""

    proc = start_manage("qcluster", log=tmp_path / "qcluster.log")
    try:
        for _ in range(60):
            ticket.refresh_from_db()
            if ticket.status != TicketStatus.REMEDIATING:
                break
            page.wait_for_timeout(500)
    finally:
        stop(proc)
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert "paused for every category by root: change freeze" in ticket.status_reason
    # Refused at the claim: nothing was written anywhere.
    execution = Execution.objects.get(ticket=ticket)
    assert execution.state == ExecutionState.REFUSED and not execution.steps.exists()


@pytest.mark.django_db(transaction=True)
def test_the_analytics_page_shows_its_charts(seeded, live_server, browser_page):
    from datetime import timedelta

    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from remediation.execution.models import ExecutionVia
    from tests.support.metrics import execution_at as run

    viewer = UserFactory(username="vera")
    viewer.user_permissions.add(Permission.objects.get(codename="view_pattern_stats"))
    now = timezone.now()
    for n, (days, state, via, outcome) in enumerate(
        [
            (0, ExecutionState.SUCCEEDED, ExecutionVia.AUTO, "success"),
            (0, ExecutionState.SUCCEEDED, ExecutionVia.APPROVAL, "success"),
            (7, ExecutionState.SUCCEEDED, ExecutionVia.AUTO, "success"),
            (7, ExecutionState.ROLLED_BACK, ExecutionVia.AUTO, "failure"),
            (14, ExecutionState.SUCCEEDED, ExecutionVia.APPROVAL, "success"),
        ]
    ):
        run(n, state, via, at=now - timedelta(days=days, minutes=1), outcome=outcome)
    page, base = browser_page, live_server.url
    page.goto(f"{base}/accounts/login/?next=/stats/analytics/")
    page.fill("#id_username", "vera")
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")
    for chart in ("decided", "rates", "latency", "resolve", "patterns"):
        expect(page.locator(f"#chart-{chart}")).to_be_visible()
    expect(page.locator("#analytics-table tbody tr")).to_have_count(12)
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "6-analytics")
