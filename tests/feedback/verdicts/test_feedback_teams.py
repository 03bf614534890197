"""Who may teach through POST /api/v1/feedback: the same rule as the review queue's page.

Trusted feedback makes the system act (pattern statistics and eligibility, learned
runbooks, calibration), so a person who may teach (``feedback.teach``) but is outside the
team that owns the ticket is refused with 403 ``not_your_team``, naming the team, as the
review page refuses their hand fix. The submitter's and anyone else's without the role is
stored untrusted, as before. One rule: ``feedback.verdicts.access.feedback_trust``."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from feedback.models import Feedback
from patterns.models import Pattern
from policies.models import Team
from remediation.accounts.models import ApiToken
from remediation.accounts.services import service_account_create
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import CategoryDailyStats, Ticket, TicketStatus
from tests.conftest import make_teacher
from tests.support.factories import UserFactory, analyzed_ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/feedback"


def team(name: str, categories: list[str], *members, systems=()) -> Team:
    t = Team.objects.create(name=name, categories=categories, systems=list(systems))
    t.members.add(*members)
    return t


def operator(username: str):
    u = UserFactory(username=username)
    u.groups.add(Group.objects.get(name="Operators"))
    return u


def token_client(u) -> APIClient:
    _, key = ApiToken.objects.create(user=u, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def ticket(user, restart_runbook):
    return analyzed_ticket(
        user,
        "INC-TEAM-1",
        title="Service down on prod-web-01",
        description="The web service on prod-web-01 is not responding.",
    )


def body(**fields):
    return {
        "ticket_id": "INC-TEAM-1",
        "feedback_type": "positive",
        "rating": 5,
        "resolution_accurate": True,
    } | fields


def counted(ticket) -> int:
    return Pattern.objects.get(pk=ticket.pattern_id).positive_feedback_count


def test_a_member_of_the_owning_team_teaches(ticket):
    carol = operator("carol")
    team("web", ["server"], carol)
    r = token_client(carol).post(URL, body(), format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["trusted"] is True
    assert r.json()["ticket_outcome"] == "success"
    assert counted(ticket) == 1
    assert CategoryDailyStats.objects.get(category="server").feedback_count == 1


@pytest.mark.parametrize("own_team", [True, False], ids=["another-team", "no-team"])
def test_a_teacher_outside_the_owning_team_is_refused_and_nothing_is_learned(ticket, own_team):
    team("web", ["server"], operator("carol"))
    otto = operator("otto")
    if own_team:
        team("db", ["database"], otto)
    r = token_client(otto).post(URL, body(), format="json")
    assert r.status_code == 403, r.json()
    error = r.json()["error"]
    assert error["code"] == "not_your_team"
    assert "team web" in error["message"] and "only its members decide it" in error["message"]
    assert "team web" in error["fields"]["ticket_id"][0]
    assert not Feedback.objects.exists()
    assert counted(ticket) == 0
    assert not CategoryDailyStats.objects.filter(category="server", feedback_count__gt=0).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.FEEDBACK_SUBMITTED).exists()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome) == (TicketStatus.ANALYZED, "unknown")


def test_a_team_owns_its_systems_too(ticket):
    team("hosts", [], operator("carol"), systems=["prod-web-01"])
    Ticket.objects.filter(pk=ticket.pk).update(affected_system="prod-web-01")
    r = token_client(operator("otto")).post(URL, body(), format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_team"


def test_without_an_owning_team_any_teacher_teaches(ticket):
    team("db", ["database"], operator("dora"))
    r = token_client(operator("otto")).post(URL, body(), format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["trusted"] is True
    assert counted(ticket) == 1


def test_a_superuser_outside_the_team_is_refused_too(ticket):
    team("web", ["server"], operator("carol"))
    boss = UserFactory(username="boss", is_staff=True, is_superuser=True)
    r = token_client(boss).post(URL, body(), format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_team"


def test_the_submitter_outside_the_team_is_stored_untrusted(user, api, ticket):
    team("web", ["server"], operator("carol"))
    make_teacher(user)  # even holding the role: one's own ticket never teaches
    r = api.post(URL, body(), format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["trusted"] is False
    assert Feedback.objects.get().trusted is False
    assert counted(ticket) == 0


def test_a_service_accounts_token_gives_untrusted_feedback_on_its_own_tickets_only(
    restart_runbook, user, ticket
):
    team("web", ["server"], operator("carol"))
    bot = service_account_create(username="alertbot")
    mine = analyzed_ticket(
        bot,
        "INC-BOT-1",
        title="Service down on prod-web-02",
        description="The web service on prod-web-02 is not responding.",
    )
    client = token_client(bot)
    r = client.post(URL, body(ticket_id="INC-BOT-1"), format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["trusted"] is False
    assert counted(mine) == 0
    # Another's ticket: 404, as if it did not exist.
    r = client.post(URL, body(), format="json")
    assert r.status_code == 404
    assert "ticket_id" in r.json()["error"]["fields"]


def test_an_unknown_ticket_is_404_naming_the_field(ticket):
    carol = operator("carol")
    team("web", ["server"], carol)
    r = token_client(carol).post(URL, body(ticket_id="INC-NOPE"), format="json")
    assert r.status_code == 404
    assert "ticket_id" in r.json()["error"]["fields"]


@pytest.mark.parametrize("field", ["ticket_id", "comment", "what_worked", "actual_resolution"])
def test_nul_bytes_are_refused_naming_the_field(ticket, field):
    carol = operator("carol")
    team("web", ["server"], carol)
    value = "INC-TEAM-1\x00" if field == "ticket_id" else "restarted\x00it"
    r = token_client(carol).post(URL, body(**{field: value}), format="json")
    assert r.status_code == 400, r.json()
    assert field in r.json()["error"]["fields"]
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(("field", "limit"), [("comment", 5_000), ("actual_resolution", 10_000)])
def test_huge_text_is_refused_naming_the_field(ticket, field, limit):
    carol = operator("carol")
    team("web", ["server"], carol)
    client = token_client(carol)
    r = client.post(URL, body(**{field: "x" * (limit + 1)}), format="json")
    assert r.status_code == 400, r.json()
    assert field in r.json()["error"]["fields"]
    assert not Feedback.objects.exists()
    r = client.post(URL, body(**{field: "x" * limit}), format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["trusted"] is True


def test_the_review_page_and_the_api_give_one_answer(client, user, ticket):
    """A hand fix on the review page and feedback through the API: refused to the same
    person, accepted from the same member."""
    carol, otto = operator("carol"), operator("otto")
    team("web", ["server"], carol)
    hand_fix = {"act": "hand_fix", "worked": "yes", "what_you_did": "restarted it"}
    client.force_login(otto)
    assert client.post("/reviews/INC-TEAM-1/", hand_fix).status_code == 403
    assert token_client(otto).post(URL, body(), format="json").status_code == 403
    client.force_login(carol)
    assert client.post("/reviews/INC-TEAM-1/", hand_fix).status_code == 302
    [feedback] = Feedback.objects.all()
    assert (feedback.user, feedback.trusted) == (carol, True)
