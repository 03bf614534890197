"""Teams: who owns a category decides its tickets, through the API, the pages and the
admin (the one approval service and the review queue's access are the choke points); its
members see its items first; a policy's approvers may be a team; team edits are audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from policies.models import Team
from remediation.approvals.models import ApprovalRequest, ApprovalStatus
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import TicketStatus
from tests.support.approvals import approver, awaiting_ticket, policy
from tests.support.factories import TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/inbox"


def team(name: str, categories: list[str], *members, systems=()) -> Team:
    t = Team.objects.create(name=name, categories=categories, systems=list(systems))
    t.members.add(*members)
    return t


def manual(submitter, ticket_id: str, category: str = "server"):
    return TicketFactory(
        ticket_id=ticket_id,
        submitted_by=submitter,
        category=category,
        status=TicketStatus.MANUAL_REVIEW,
        status_reason="Rejected by a person",
    )


@pytest.fixture
def carol(db):
    return approver("carol", email="carol@example.com")


@pytest.fixture
def dave(db):
    return approver("dave", email="dave@example.com")


def approve(client, ticket_id):
    return client.post(
        f"/api/v1/tickets/{ticket_id}/approve-remediation", {"approve": True}, format="json"
    )


def test_an_approver_outside_the_owning_team_cannot_decide(lab, user, carol, dave, client_for):
    team("web", ["server"], carol)
    waiting = awaiting_ticket(user, ticket_id="T-1")
    refused = approve(client_for(dave), waiting.ticket_id)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_your_team"
    rejected = client_for(dave).post(
        f"/api/v1/tickets/{waiting.ticket_id}/approve-remediation",
        {"approve": False, "comment": "no"},
        format="json",
    )
    assert rejected.status_code == 403
    assert ApprovalRequest.objects.get(ticket=waiting).status == ApprovalStatus.PENDING
    assert approve(client_for(carol), waiting.ticket_id).status_code == 200


def test_the_request_page_refuses_a_person_outside_the_team(client, lab, user, carol, dave):
    team("web", ["server"], carol)
    waiting = awaiting_ticket(user, ticket_id="T-1")
    client.force_login(dave)
    page = client.get(f"/approvals/requests/{waiting.ticket_id}/").content.decode()
    assert 'id="refusal"' in page and "team web" in page
    from remediation.approvals.selectors import current_digest

    client.post(
        f"/approvals/requests/{waiting.ticket_id}/",
        {"decision": "approve", "comment": "", "actions_digest": current_digest(waiting)},
    )
    assert ApprovalRequest.objects.get(ticket=waiting).decisions.count() == 0


def test_the_admin_actions_refuse_a_person_outside_the_team(client, lab, user, carol):
    team("web", ["server"], carol)
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    waiting = awaiting_ticket(user, ticket_id="T-1")
    client.force_login(root)
    from remediation.approvals.selectors import current_digest

    request = ApprovalRequest.objects.get(ticket=waiting)
    answer = client.post(
        "/admin/remediation/approvalrequest/",
        {
            "action": "approve_selected",
            "_selected_action": [request.pk],
            "apply": "yes",
            f"digest_{request.pk}": current_digest(waiting),
        },
        follow=True,
    )
    assert "only its members decide it" in answer.content.decode()
    assert request.decisions.count() == 0


def test_a_reviewer_outside_the_team_cannot_take_close_or_run(user, carol, dave, client_for):
    team("web", ["server"], carol)
    manual(user, "T-R")
    operator = UserFactory(username="otto")
    operator.groups.add(Group.objects.get(name="Operators"))
    for who in (dave, operator):
        client = client_for(who)
        for act, body in (("take", None), ("run", None), ("close", {"reason": "x"})):
            answer = client.post(f"/api/v1/reviews/T-R/{act}", body, format="json")
            assert answer.status_code == 403, (who, act, answer.json())
    assert client_for(carol).post("/api/v1/reviews/T-R/take").status_code == 200


def test_the_review_page_offers_nothing_to_a_person_outside_the_team(client, user, carol, dave):
    team("web", ["server"], carol)
    manual(user, "T-R")
    client.force_login(dave)
    page = client.get("/reviews/T-R/").content.decode()
    assert 'id="not-yours"' in page and 'id="take"' not in page and 'id="record"' not in page
    answer = client.post(
        "/reviews/T-R/", {"act": "hand_fix", "worked": "yes", "what_you_did": "restarted"}
    )
    assert answer.status_code == 403
    client.post("/reviews/T-R/", {"act": "take"})
    assert not AuditEvent.objects.filter(action=AuditAction.REVIEW_TAKEN).exists()


def test_a_team_owns_its_systems_too(lab, user, carol, dave, client_for):
    team("db-hosts", [], carol, systems=["prod-web-01"])
    waiting = awaiting_ticket(user, ticket_id="T-1", affected_system="prod-web-01")
    assert approve(client_for(dave), waiting.ticket_id).status_code == 403


def test_members_see_their_teams_items_first(lab, user, carol, client_for):
    team("db", ["database"], carol)
    manual(user, "T-OLD", category="server")
    manual(user, "T-DB", category="database")
    rows = client_for(carol).get(API).json()["results"]
    assert [r["ticket_id"] for r in rows] == ["T-DB", "T-OLD"]
    assert rows[0]["mine"] is True and rows[0]["owner"] == "db"
    assert rows[1]["mine"] is False and rows[1]["owner"] == "nobody"
    mine = client_for(carol).get(API, {"owner": "me"}).json()["results"]
    assert [r["ticket_id"] for r in mine] == ["T-DB"]
    named = client_for(carol).get(API, {"owner": "db"}).json()["results"]
    assert [r["ticket_id"] for r in named] == ["T-DB"]


def test_a_policys_approvers_may_be_a_team(lab, user, client_for):
    member = UserFactory(username="mia", email="mia@example.com")  # no permission at all
    outsider = approver("olga", email="olga@example.com")
    web = team("web", [], member)
    policy("server", approvers_team=web)
    waiting = awaiting_ticket(user, ticket_id="T-1")
    request = ApprovalRequest.objects.get(ticket=waiting)
    assert request.approvers == ["mia@example.com"]  # told when it opens
    assert approve(client_for(outsider), waiting.ticket_id).status_code == 403
    assert client_for(member).get(API).json()["count"] == 1  # in their inbox
    answer = approve(client_for(member), waiting.ticket_id)
    assert answer.status_code == 200 and answer.json()["execution_requested"] is True


def test_team_edits_in_the_admin_are_audited(client, carol, dave):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    added = client.post(
        "/admin/policies/team/add/",
        {"name": "web", "members": [carol.pk], "categories": "Server, web", "systems": ""},
    )
    assert added.status_code == 302, added.content[:2000]
    web = Team.objects.get(name="web")
    assert web.categories == ["server", "web"]
    client.post(
        f"/admin/policies/team/{web.pk}/change/",
        {"name": "web", "members": [carol.pk, dave.pk], "categories": "server, web", "systems": ""},
    )
    events = AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).order_by("id")
    details = [e.details for e in events if e.details.get("model") == "policies.Team"]
    assert details[0]["verb"] == "added"
    assert details[-1]["changes"] == {"members": ["carol", "carol, dave"]}
