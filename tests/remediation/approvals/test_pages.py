"""The approval pages through Django's test client: queue, request, history, decisions and
every refusal message. (tests/web/ drives the same pages in Chromium.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from remediation.approvals.models import ApprovalDecision, ApprovalStatus
from remediation.catalogue.rules.digest import actions_digest
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.approvals import RESTART_WEB_02, approver, awaiting_ticket, policy
from tests.support.factories import RESTART_VM, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(db):
    return approver("carol", email="carol@example.com")


@pytest.fixture
def ticket(lab, user):
    return awaiting_ticket(user, title="Web service down on prod-web-01")


def detail(ticket):
    return f"/approvals/requests/{ticket.ticket_id}/"


def decide(client, ticket, decision, comment="", digest=None):
    return client.post(
        detail(ticket),
        {
            "decision": decision,
            "comment": comment,
            "actions_digest": digest or actions_digest(ticket.suggested_actions),
        },
        follow=True,
    )


def test_anonymous_visitors_are_sent_to_the_login_page(client, ticket):
    for path in ("/approvals/", "/approvals/history/", detail(ticket)):
        r = client.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/?next=")


def test_logged_in_users_without_rights_are_refused(client, ticket):
    client.force_login(UserFactory(username="mallory"))
    for path in ("/approvals/", "/approvals/history/", detail(ticket)):
        assert client.get(path).status_code == 403


def test_the_pages_are_for_approvers_and_staff_as_the_docs_say(client, ticket, carol):
    """Operators see every ticket through the API; the approval pages are for the people
    who decide (docs/approvals.md, "Pages"). The probe found an operator got 200."""
    from tests.conftest import make_teacher

    paths = ("/approvals/", "/approvals/history/", detail(ticket))
    client.force_login(make_teacher(UserFactory(username="olivia")))
    assert [client.get(p).status_code for p in paths] == [403, 403, 403]
    client.force_login(carol)
    assert [client.get(p).status_code for p in paths] == [200, 200, 200]
    client.force_login(UserFactory(username="root", is_staff=True))
    assert [client.get(p).status_code for p in paths] == [200, 200, 200]


def test_the_login_page_logs_an_approver_in_and_lands_on_the_inbox(client, ticket, carol):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="password"' in page.content
    r = client.post(
        "/accounts/login/",
        {"username": "carol", "password": "correct horse battery staple"},
        follow=True,
    )
    assert r.redirect_chain[-1][0] == "/inbox/"
    assert ticket.ticket_id.encode() in r.content  # the request waiting is in the inbox
    out = client.post("/accounts/logout/", follow=True)
    assert out.redirect_chain[-1][0] == "/accounts/login/"


def test_the_queue_lists_waiting_requests_oldest_first_with_what_matters(client, lab, user, carol):
    older = awaiting_ticket(user, ticket_id="INC-OLD")
    newer = awaiting_ticket(user, ticket_id="INC-NEW", category="batch")
    client.force_login(carol)
    html = client.get("/approvals/").content.decode()
    assert html.index("INC-OLD") < html.index("INC-NEW")
    assert "0 of 1" in html
    assert "72.5" in html  # reliability
    assert "medium" in html  # risk
    assert re.search(r"2[34]\d min", html)  # time left before expiry
    assert "server: 1" in html and "batch: 1" in html
    filtered = client.get("/approvals/?category=batch").content.decode()
    assert "INC-NEW" in filtered and "INC-OLD" not in filtered
    assert older and newer


def test_the_request_page_shows_actions_breakdown_reasoning_pattern_and_audit(
    client, ticket, carol
):
    client.force_login(carol)
    html = client.get(detail(ticket)).content.decode()
    for expected in (
        "Restart prod-web-01",  # the action
        "simulated lab",  # what the target is
        "vm=prod-web-01",  # parameters
        "ai confidence",  # breakdown bars
        'style="width: 90.0%"',
        "Safety checks",
        "No active policy for category",  # the decision's reasoning
        "approval.requested",  # the audit trail
        "Rejections",  # pattern statistics
    ):
        assert expected in html, expected


def test_the_request_page_says_lab_or_real_shows_the_diagnosis_the_alert_and_review_flags(
    client, ticket, carol
):

    from patterns.models import Pattern
    from remediation.connectors.models import PlatformConnector

    client.force_login(carol)
    html = client.get(detail(ticket)).content.decode()
    assert "(simulated lab)" in html
    assert "REAL system" not in html
    assert 'id="alert-note"' not in html and "needs-review" not in html

    # The analysis's diagnosis, the alert gone by itself, and both review flags.
    Ticket.objects.filter(pk=ticket.pk).update(
        diagnosis={
            "cause": "vm_hung",
            "cause_label": "VM hung",
            "established": True,
            "evidence": ["the VM is hung"],
            "ruled_out": ["disk full"],
            "needs_human": True,
            "needs_human_reason": "a production web VM is named",
        },
        alert_resolved_at=timezone.now(),
        needs_review=True,
    )
    Pattern.objects.filter(pk=ticket.pattern_id).update(needs_review=True)
    # The vmware connector now points at a real vCenter: the page says so plainly.
    PlatformConnector.objects.update_or_create(
        platform="vmware", defaults={"name": "vCenter prod", "simulated": False, "enabled": True}
    )
    html = client.get(detail(ticket)).content.decode()
    for expected in (
        "(REAL system, through vCenter prod)",
        "VM hung (established)",
        "<q>the VM is hung</q>",
        "disk full",
        "yes: a production web VM is named",
        "resolved by itself",
        "before anyone approved",
        'id="ticket-needs-review"',
        'id="pattern-needs-review"',
    ):
        assert expected in html, expected
    assert "(simulated lab)" not in html

    PlatformConnector.objects.filter(platform="vmware").delete()
    html = client.get(detail(ticket)).content.decode()
    assert "no connector configured: it cannot run" in html


def test_approving_on_the_page_hands_the_ticket_to_execution(client, ticket, carol):
    client.force_login(carol)
    r = decide(client, ticket, "approve", "ok")
    assert "handed to execution" in r.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.REMEDIATING
    assert ApprovalDecision.objects.get().via == "web"


def test_rejecting_needs_a_comment_and_then_ends_the_request(client, ticket, carol):
    client.force_login(carol)
    missing = decide(client, ticket, "reject", "")
    assert "a comment is required" in missing.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.AWAITING_APPROVAL

    r = decide(client, ticket, "reject", "Wrong host")
    assert "Rejected by carol: Wrong host" in r.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.MANUAL_REVIEW
    history = client.get("/approvals/history/").content.decode()
    assert ticket.ticket_id in history and "Wrong host" in history


def test_every_refusal_has_a_clear_message(client, lab, user, carol):
    # own ticket
    own = awaiting_ticket(carol, ticket_id="INC-OWN")
    client.force_login(carol)
    assert "You submitted this ticket" in client.get(detail(own)).content.decode()
    assert "You submitted this ticket" in decide(client, own, "approve").content.decode()

    # not allowed (a policy lists other people)
    policy("batch", approvers=["erin@example.com"])
    listed = awaiting_ticket(user, ticket_id="INC-LISTED", category="batch")
    assert "Only the approvers listed" in decide(client, listed, "approve").content.decode()

    # actions changed since the page was shown
    changed = awaiting_ticket(user, ticket_id="INC-CHANGED")
    stale = actions_digest([RESTART_VM])
    Ticket.objects.filter(pk=changed.pk).update(suggested_actions=[RESTART_WEB_02])
    assert (
        "The actions changed" in decide(client, changed, "approve", digest=stale).content.decode()
    )

    # expired
    late = awaiting_ticket(user, ticket_id="INC-LATE")
    with time_machine.travel(timezone.now() + timedelta(hours=5)):
        assert "expired" in decide(client, late, "approve").content.decode()
    assert late.approval_request.__class__.objects.get(ticket=late).status == ApprovalStatus.EXPIRED

    # already decided
    done = awaiting_ticket(user, ticket_id="INC-DONE")
    decide(client, done, "approve")
    assert "already decided" in decide(client, done, "approve").content.decode()


def test_a_request_of_an_unknown_ticket_is_404(client, carol):
    client.force_login(carol)
    assert client.get("/approvals/requests/INC-NOPE/").status_code == 404


def test_a_garbled_form_is_refused_without_a_change(client, ticket, carol):
    client.force_login(carol)
    r = client.post(
        detail(ticket), {"decision": "maybe", "comment": "a\x00b", "actions_digest": "x"}
    )
    assert r.status_code == 200
    assert "not recorded" in r.content.decode()
    assert not ApprovalDecision.objects.exists()


def test_the_request_page_shows_what_was_looked_at_and_what_the_cause_rests_on(
    client, ticket, carol
):
    client.force_login(carol)
    assert (
        "Nothing was investigated for this ticket." in client.get(detail(ticket)).content.decode()
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        diagnosis={
            "cause": "hung",
            "cause_label": "guest hung",
            "established": True,
            "evidence": ["observed: get_vm prod-web-01: guest heartbeat red for 412 s"],
            "basis": "observed",
            "needs_human": False,
        },
        investigation={
            "status": "complete",
            "reason": "",
            "duration_ms": 41,
            "started_at": "2026-12-02T10:00:00.000+00:00",
            "calls": [
                {
                    "n": 1,
                    "connector": "Lab",
                    "tool": "get_vm",
                    "arguments": {"vm": "prod-web-01"},
                    "at": "2026-12-02T10:00:00.010+00:00",
                    "ms": 12,
                    "ok": True,
                },
                {
                    "n": 2,
                    "connector": "Lab",
                    "tool": "get_host",
                    "arguments": {"host": "esx-01"},
                    "at": "2026-12-02T10:00:00.030+00:00",
                    "ms": 9,
                    "ok": False,
                    "error": "esx-01 is unreachable <script>",
                },
            ],
            "objects": [
                {
                    "kind": "vm",
                    "name": "prod-web-01",
                    "answers": {"get_vm": {"guest_heartbeat": "red", "console": "<b>frozen</b>"}},
                }
            ],
        },
    )
    html = client.get(detail(ticket)).content.decode()
    for expected in (
        "What was looked at",
        "Investigation complete",
        "2 read-only calls",
        "get_host",
        "esx-01 is unreachable &lt;script&gt;",  # untrusted text, escaped
        "what was observed on the system",
        "guest heartbeat red for 412 s",
        "&lt;b&gt;frozen&lt;/b&gt;",
    ):
        assert expected in html, expected
    assert "<script>" not in html.split("What was looked at")[1].split("</section>")[0]


# --- the first screen, the critical confirmation, the live status, history ----------------


def test_the_first_screen_says_what_runs_on_what_the_risk_and_why_a_person_is_asked(
    client, ticket, carol
):
    client.force_login(carol)
    html = client.get(detail(ticket)).content.decode()
    first = html[html.index('id="first-screen"') : html.index('id="details"')]
    assert "restart_vm</strong> on <strong>prod-web-01" in first
    assert "medium risk" in first
    assert "Reliability <strong>72.5" in first
    assert "Why you are asked:" in first and "no active policy" in first
    assert 'value="approve"' in first and 'value="reject"' in first
    assert "confirm_critical" not in first  # not a critical action: no confirmation step
    # The details follow, below the buttons.
    assert html.index('value="approve"') < html.index("<h2>Ticket</h2>")
    # Safety checks in words, not keys.
    assert "time_window_ok" not in html and "Within the allowed time window" in html


def test_a_critical_action_needs_the_confirmation_to_be_approved(client, lab, user, carol):
    from tests.support.factories import EXPAND_VOLUME

    # A critical action waits for people only under a policy that allows it (with no
    # policy it goes to manual review: docs/decisions.md, step 2).
    policy(allowed_action_types=["safe_write", "critical_write"])
    critical = awaiting_ticket(
        user, affected_system="vol-data-01", suggested_actions=[EXPAND_VOLUME]
    )
    client.force_login(carol)
    page = client.get(detail(critical)).content.decode()
    assert 'name="confirm_critical"' in page and "expand_volume on vol-data-01" in page
    # Its size is on the first screen, in the list and in the confirmation itself.
    first = page[page.index('id="first-screen"') : page.index('id="details"')]
    size = f"size_gb={EXPAND_VOLUME['params']['size_gb']}"
    assert f'vol-data-01</strong> <span class="size">({size})' in first
    assert f"expand_volume on vol-data-01 ({size})" in first

    r = decide(client, critical, "approve")
    assert "tick the confirmation" in r.content.decode()
    assert not ApprovalDecision.objects.filter(request__ticket=critical).exists()
    critical.refresh_from_db()
    assert critical.status == TicketStatus.AWAITING_APPROVAL

    r = client.post(
        detail(critical),
        {
            "decision": "approve",
            "comment": "",
            "actions_digest": actions_digest(critical.suggested_actions),
            "confirm_critical": "on",
        },
        follow=True,
    )
    assert r.status_code == 200
    assert ApprovalDecision.objects.filter(request__ticket=critical, approve=True).exists()


def test_rejecting_a_critical_action_needs_no_confirmation(client, lab, user, carol):
    from tests.support.factories import EXPAND_VOLUME

    # A critical action waits for people only under a policy that allows it (with no
    # policy it goes to manual review: docs/decisions.md, step 2).
    policy(allowed_action_types=["safe_write", "critical_write"])
    critical = awaiting_ticket(
        user, affected_system="vol-data-01", suggested_actions=[EXPAND_VOLUME]
    )
    client.force_login(carol)
    decide(client, critical, "reject", comment="Not this volume.")
    critical.refresh_from_db()
    assert critical.status == TicketStatus.MANUAL_REVIEW


def test_the_status_the_page_polls_follows_the_ticket_to_its_end(client, ticket, carol):
    url = f"{detail(ticket)}status"
    client.force_login(carol)
    body = client.get(url).json()
    assert body["ticket_status"] == "awaiting_approval" and body["final"] is False
    assert body["request_status"] == "pending"
    decide(client, ticket, "approve")
    body = client.get(url).json()
    assert (body["request_status"], body["final"]) == ("approved", False)  # remediating
    Ticket.objects.filter(pk=ticket.pk).update(
        status=TicketStatus.RESOLVED, outcome="success", auto_remediation_executed=True
    )
    assert client.get(url).json()["final"] is True


def test_htmx_gets_the_status_fragment_which_stops_polling_at_the_end(client, ticket, carol):
    url = f"{detail(ticket)}status"
    client.force_login(carol)
    page = client.get(detail(ticket)).content.decode()
    assert "htmx" in page and 'hx-trigger="every' in page  # served from our static files
    assert "unpkg" not in page and "cdn" not in page.lower()
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="live-status"' in fragment and 'hx-trigger="every 10s"' in fragment
    Ticket.objects.filter(pk=ticket.pk).update(
        status=TicketStatus.RESOLVED, outcome="success", auto_remediation_executed=True
    )
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Resolved" in fragment and "hx-trigger" not in fragment


def test_the_polled_status_is_for_those_who_may_see_the_page(client, ticket):
    url = f"{detail(ticket)}status"
    r = client.get(url)
    assert r.status_code == 302  # to the login page
    client.force_login(UserFactory(username="mallory"))
    assert client.get(url).status_code == 403
    client.force_login(approver("erin"))
    assert client.get("/approvals/requests/NO-SUCH/status").status_code == 404


def test_queue_pages_keep_the_filters(client, lab, user, carol, settings, monkeypatch):
    from feedback.inbox import views

    settings.DEBUG = False
    monkeypatch.setattr(views, "PAGE_SIZE", 1)  # the queue is the inbox's approvals
    for n in range(3):
        awaiting_ticket(user, ticket_id=f"PAGE-{n}", title=f"Down {n}")
    client.force_login(carol)
    html = client.get("/approvals/?category=server&risk=").content.decode()
    nxt = re.search(r'href="([^"]*page=2[^"]*)"', html)
    assert nxt is not None
    assert "category=server" in nxt.group(1).replace("&amp;", "&")


def test_history_says_who_decided_and_what_happened_next(client, ticket, carol):
    client.force_login(carol)
    decide(client, ticket, "reject", comment="Not now.")
    html = client.get("/approvals/history/").content.decode()
    assert "carol (rejected)" in html
    assert "ticket manual review" in html
