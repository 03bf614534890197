"""The inbox through its API and page: what is in it, for whom, its filters, the landing
page and ``/``; the pause on every page and in the answers about tickets; an approval while
paused waits (kept, never expired) and runs on resume; a ticket decided while paused is in
the inbox and decided again on resume."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from policies.models import RemediationPause
from policies.services import remediation_pause, remediation_resume
from remediation.approvals.models import ApprovalRequest, ApprovalStatus
from remediation.approvals.services import approval_expire_due
from remediation.execution.models import Execution
from remediation.tickets.models import TicketStatus
from tests.support.approvals import approver, awaiting_ticket, policy
from tests.support.deciding import decide
from tests.support.factories import RESTART_VM, PatternFactory, TicketFactory, UserFactory
from tests.support.queue import drain

pytestmark = pytest.mark.django_db

API = "/api/v1/inbox"


def operator(username: str, **fields):
    user = UserFactory(username=username, **fields)
    user.groups.add(Group.objects.get(name="Operators"))
    return user


def manual(submitter, ticket_id: str, category: str = "server", **fields):
    return TicketFactory(
        ticket_id=ticket_id,
        submitted_by=submitter,
        category=category,
        status=TicketStatus.MANUAL_REVIEW,
        status_reason="Rejected: reliability 55.6% < the policy's 75%",
        **fields,
    )


def not_opted_in(submitter, ticket_id: str, category: str = "server"):
    ticket = TicketFactory(
        ticket_id=ticket_id,
        submitted_by=submitter,
        category=category,
        status=TicketStatus.PROCESSING,
        auto_remediation_enabled=False,
        suggested_actions=[RESTART_VM],
        resolution="Restart the VM.",
    )
    decide(ticket)
    assert ticket.status == TicketStatus.ANALYZED
    return ticket


@pytest.fixture
def carol(db):
    return approver("carol", email="carol@example.com")


def ids(answer) -> list[str]:
    return [row["ticket_id"] for row in answer.json()["results"]]


def test_an_approver_finds_approvals_with_time_left_and_reviews(lab, user, carol, client_for):
    waiting = awaiting_ticket(user, ticket_id="INB-A")
    manual(user, "INB-R")
    not_opted_in(user, "INB-U")
    answer = client_for(carol).get(API)
    assert answer.status_code == 200
    rows = {row["ticket_id"]: row for row in answer.json()["results"]}
    assert set(rows) == {"INB-A", "INB-R", "INB-U"}
    a = rows["INB-A"]
    assert (
        a["kind"] == "approval" and a["action_url"] == f"/approvals/requests/{waiting.ticket_id}/"
    )
    assert 230 <= a["minutes_left"] <= 240 and a["approvals_required"] == 1
    assert a["paused"] is None and a["age_seconds"] >= 0 and a["action"]
    assert rows["INB-R"]["kind"] == "review" and "55.6%" in rows["INB-R"]["why"]
    assert rows["INB-R"]["action_url"] == "/reviews/INB-R/"
    u = rows["INB-U"]
    assert u["kind"] == "unhandled" and "not enabled for this ticket" in u["why"]
    assert u["owner"] == "nobody"


def test_who_sees_what(lab, user, carol, client_for):
    awaiting_ticket(user, ticket_id="INB-A")
    manual(user, "INB-R")
    # An operator reviews but does not approve: reviews only.
    assert ids(client_for(operator("otto")).get(API)) == ["INB-R"]
    # A submitter with neither permission has an empty inbox, not a 403.
    plain = client_for(UserFactory(username="pat")).get(API)
    assert plain.status_code == 200 and plain.json()["results"] == []
    assert client_for(carol).get(API).json()["count"] == 2
    from rest_framework.test import APIClient

    assert APIClient().get(API).status_code == 401


def test_filters_by_kind_category_and_owner(lab, user, carol, client_for):
    awaiting_ticket(user, ticket_id="INB-A")
    manual(user, "INB-R")
    manual(user, "INB-DB", category="database")
    client = client_for(carol)
    assert ids(client.get(API, {"kind": "approval"})) == ["INB-A"]
    assert sorted(ids(client.get(f"{API}?kind=review&kind=approval"))) == [
        "INB-A",
        "INB-DB",
        "INB-R",
    ]
    assert ids(client.get(API, {"category": "DATABASE"})) == ["INB-DB"]
    assert ids(client.get(API, {"owner": "nobody", "kind": "review"})) == ["INB-R", "INB-DB"]
    assert ids(client.get(API, {"owner": "no such team"})) == []
    bad = client.get(API, {"kind": "everything"})
    assert bad.status_code == 400
    assert [f for f in bad.json()["error"]["fields"] if f.startswith("kind")]
    assert client.get(API, {"colour": "red"}).status_code == 400
    assert client.get(API, {"page_size": 1}).json()["next"] is not None


def test_the_review_queue_is_the_inboxs_reviews(lab, user, carol, client_for):
    awaiting_ticket(user, ticket_id="INB-A")
    manual(user, "INB-R")
    not_opted_in(user, "INB-U")
    client = client_for(carol)
    reviews = [r["ticket_id"] for r in client.get("/api/v1/reviews").json()["results"]]
    inbox = ids(client.get(f"{API}?kind=review&kind=unknown_outcome"))
    assert reviews == inbox == ["INB-R"]


def test_login_lands_on_the_inbox_and_the_root_leads_there(client, lab, user, carol):
    assert client.get("/").url == "/accounts/login/"
    awaiting_ticket(user, ticket_id="INB-A")
    answer = client.post(
        "/accounts/login/",
        {"username": "carol", "password": "correct horse battery staple"},
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == "/inbox/"
    assert b"INB-A" in answer.content and b"Approve or reject" in answer.content
    assert client.get("/").url == "/inbox/"


def test_an_operator_lands_on_a_page_they_may_use(client, user):
    manual(user, "INB-R")
    operator("otto")
    answer = client.post(
        "/accounts/login/",
        {"username": "otto", "password": "correct horse battery staple"},
        follow=True,
    )
    assert answer.status_code == 200
    assert answer.redirect_chain[-1][0] == "/inbox/"
    assert b"INB-R" in answer.content
    assert client.get("/approvals/").status_code == 403  # deciding is not theirs


def test_the_page_filters_and_refuses_bad_values_without_a_500(client, lab, user, carol):
    awaiting_ticket(user, ticket_id="INB-A")
    manual(user, "INB-R")
    client.force_login(carol)
    html = client.get("/inbox/?kind=review").content.decode()
    assert "INB-R" in html and "INB-A" not in html
    assert client.get("/inbox/?kind=nope&category=%00").status_code == 200


# --- the pause ----------------------------------------------------------------------------


def test_the_pause_is_on_every_page_and_in_every_answer_about_a_ticket(
    client, lab, user, carol, client_for
):
    waiting = awaiting_ticket(user, ticket_id="INB-A")
    client.force_login(carol)
    assert b'id="pause-banner"' not in client.get("/inbox/").content
    remediation_pause(category="server", reason="change freeze", user=carol)
    for path in (
        "/inbox/",
        "/approvals/",
        f"/approvals/requests/{waiting.ticket_id}/",
        "/reviews/",
    ):
        html = client.get(path).content.decode()
        assert 'id="pause-banner"' in html and "change freeze" in html, path
        assert "category server" in html and "carol" in html, path
    api = client_for(carol)
    ticket = api.get(f"/api/v1/tickets/{waiting.ticket_id}").json()
    assert ticket["paused"]["scope"] == "category server"
    assert ticket["paused"]["by"] == "carol" and ticket["paused"]["reason"] == "change freeze"
    row = api.get(API).json()["results"][0]
    assert row["paused"]["reason"] == "change freeze" and row["minutes_left"] is None
    assert "Held while paused" in row["why"]
    other = api.get("/api/v1/tickets", {"category": "database"})
    assert other.status_code == 200
    remediation_resume(category="server", user=carol)
    assert api.get(f"/api/v1/tickets/{waiting.ticket_id}").json()["paused"] is None


def test_an_approval_while_paused_waits_and_runs_on_resume(lab, user, carol, client_for):
    policy("server")
    waiting = awaiting_ticket(user, ticket_id="INB-A")
    remediation_pause(category="", reason="incident bridge open", user=carol)
    answer = client_for(carol).post(
        f"/api/v1/tickets/{waiting.ticket_id}/approve-remediation", {"approve": True}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["status"] == "awaiting_approval" and body["request_status"] == "pending"
    assert body["execution_requested"] is False and "incident bridge open" in body["message"]
    assert body["paused"]["scope"] == "every category"
    assert not Execution.objects.filter(ticket=waiting).exists()
    # Past its deadline while paused: the sweep leaves it waiting.
    request = ApprovalRequest.objects.get(ticket=waiting)
    ApprovalRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert approval_expire_due() == 0
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.AWAITING_APPROVAL
    remediation_resume(category="", user=carol)
    drain()
    waiting.refresh_from_db()
    request.refresh_from_db()
    assert request.status == ApprovalStatus.APPROVED
    assert Execution.objects.filter(ticket=waiting).count() == 1
    assert waiting.status != TicketStatus.AWAITING_APPROVAL


def test_a_request_without_enough_approvals_gets_its_paused_time_back(lab, user, carol):
    waiting = awaiting_ticket(user, ticket_id="INB-A")
    request = ApprovalRequest.objects.get(ticket=waiting)
    pause = remediation_pause(category="server", reason="freeze", user=carol).pause
    RemediationPause.objects.filter(pk=pause.pk).update(
        paused_at=timezone.now() - timedelta(hours=10)
    )
    ApprovalRequest.objects.filter(pk=request.pk).update(
        opened_at=timezone.now() - timedelta(hours=11),
        expires_at=timezone.now() - timedelta(hours=7),
    )
    assert approval_expire_due() == 0
    remediation_resume(category="server", user=carol)
    drain()
    drain()  # delivered twice: the deadline moves once
    request.refresh_from_db()
    left = request.expires_at - timezone.now()
    assert timedelta(hours=2, minutes=50) < left <= timedelta(hours=3, minutes=1)
    assert request.status == ApprovalStatus.PENDING


def test_a_ticket_decided_while_paused_is_in_the_inbox_and_decided_again_on_resume(
    lab, user, carol, client_for
):
    policy("server")
    remediation_pause(category="server", reason="freeze", user=carol)
    ticket = TicketFactory(
        ticket_id="INB-P",
        submitted_by=user,
        category="server",
        status=TicketStatus.PROCESSING,
        auto_remediation_enabled=True,
        resolution="Restart the web VM.",
        suggested_actions=[RESTART_VM],
        confidence_score=0.9,
        reliability_score=72.5,
        pattern=PatternFactory(category="server", occurrence_count=3),
    )
    decide(ticket)
    assert ticket.status == TicketStatus.ANALYZED
    rows = client_for(carol).get(API).json()["results"]
    assert [(r["ticket_id"], r["kind"]) for r in rows] == [("INB-P", "paused")]
    assert "decided again when remediation resumes" in rows[0]["why"]
    remediation_resume(category="server", user=carol)
    drain()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL, ticket.status_reason
    rows = client_for(carol).get(API).json()["results"]
    assert [(r["ticket_id"], r["kind"]) for r in rows] == [("INB-P", "approval")]


def test_a_ticket_decided_while_paused_can_be_handled_by_a_person_instead(
    lab, user, carol, client_for
):
    remediation_pause(category="server", reason="freeze", user=carol)
    ticket = TicketFactory(
        ticket_id="INB-P",
        submitted_by=user,
        category="server",
        status=TicketStatus.PROCESSING,
        auto_remediation_enabled=True,
        suggested_actions=[RESTART_VM],
    )
    decide(ticket)
    api = client_for(carol)
    closed = api.post("/api/v1/reviews/INB-P/close", {"reason": "fixed by hand"}, format="json")
    assert closed.status_code == 200, closed.json()
    assert ids(api.get(API)) == []
    remediation_resume(category="server", user=carol)
    drain()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.ANALYZED  # a person closed it: not decided again


def test_a_page_of_reviews_costs_the_same_queries_for_one_or_many(user, carol, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(carol)
    manual(user, "INB-0")
    client.get(API)  # warm: the token's first use
    with CaptureQueriesContext(connection) as one:
        assert client.get(API).json()["count"] == 1
    for n in range(1, 7):
        manual(user, f"INB-{n}")
    with CaptureQueriesContext(connection) as seven:
        assert client.get(API).json()["count"] == 7
    assert len(seven) == len(one)
