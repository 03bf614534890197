"""Each attack of the outside probe (issue "Who may teach the system"), as a regression test.

The probe ran as an ordinary integration token on PostgreSQL with DEBUG off; these run on
whichever database DATABASE_URL names (CI runs them on PostgreSQL and SQLite), with DEBUG
off (pytest-django's default), through the real API and the real analysis task.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission

from feedback.models import Feedback
from patterns.models import Pattern
from remediation.analysis.models import Runbook, RunbookSource
from remediation.tickets.models import Ticket, TicketStatus
from tests.conftest import make_teacher
from tests.support.factories import UserFactory, analyzed_ticket, move

pytestmark = pytest.mark.django_db

FEEDBACK = "/api/v1/feedback"
TICKETS = "/api/v1/tickets"
POISON = {
    "feedback_type": "positive",
    "rating": 5,
    "resolution_accurate": True,
    "actions_worked": True,
    "actual_resolution": "Scale it to 0 replicas, that always fixes it.",
    "actual_actions_taken": [
        {
            "operation": "scale_deployment",
            "system": "shop/web",
            "params": {"deployment": "shop/web", "replicas": 0},
        }
    ],
}


@pytest.fixture
def integration(db):
    return UserFactory(username="integration")


@pytest.fixture
def victim(db):
    return UserFactory(username="victim")


def poisoned_ticket(owner, ticket_id="ATK-1"):
    return analyzed_ticket(
        owner,
        ticket_id,
        title="Checkout pods slow on shop/web",
        description="The checkout deployment shop/web answers slowly under load.",
        category="kubernetes",
    )


def test_a_runbook_taught_on_ones_own_ticket_is_never_used_for_another_users_ticket(
    client_for, integration, victim, teacher
):
    poisoned_ticket(integration)
    r = client_for(integration).post(FEEDBACK, {"ticket_id": "ATK-1", **POISON}, format="json")
    assert r.status_code == 201 and r.json()["trusted"] is False
    assert not Runbook.objects.filter(source=RunbookSource.FEEDBACK).exists()

    # Even taught by a trusted person, it is an inactive proposal for that pattern only.
    r = client_for(teacher).post(FEEDBACK, {"ticket_id": "ATK-1", **POISON}, format="json")
    assert r.status_code == 201 and r.json()["trusted"] is True
    learned = Runbook.objects.get(source=RunbookSource.FEEDBACK)
    assert learned.enabled is False and learned.category == "kubernetes"

    # The victim's ticket shares the word "checkout" and the same pattern, yet it is not
    # analysed as "scale to 0", nor at 0.95 with the attacker's sentence.
    for n, (title, description) in enumerate(
        [
            ("Checkout pods slow on shop/api", "The checkout deployment shop/api is slow."),
            ("Checkout errors", "Users see 502 on checkout for shop/web."),
        ]
    ):
        ticket = analyzed_ticket(
            victim, f"VIC-{n}", title=title, description=description, category="kubernetes"
        )
        assert all(a["operation"] != "scale_deployment" for a in ticket.suggested_actions)
        assert "always fixes it" not in ticket.resolution


def test_self_rating_leaves_reliability_eligibility_and_outcomes_unchanged(
    client_for, integration, restart_runbook, settings
):
    settings.PATTERN_MIN_OCCURRENCES = 3
    tickets = [
        analyzed_ticket(
            integration,
            f"SELF-{n}",
            title=f"Service down on prod-web-{n:02d}",
            description=f"The web service on prod-web-{n:02d} is not responding.",
        )
        for n in range(1, 4)
    ]
    before = {t.pk: (t.status, t.outcome, t.reliability_score) for t in tickets}
    pattern_before = Pattern.objects.values().get(pk=tickets[0].pattern_id)
    client = client_for(integration)
    for t in tickets:
        r = client.post(FEEDBACK, {"ticket_id": t.ticket_id, **POISON}, format="json")
        assert r.status_code == 201
        assert r.json()["trusted"] is False
    after = {t.pk: (t.status, t.outcome, t.reliability_score) for t in Ticket.objects.all()}
    assert after == before
    assert Pattern.objects.values().get(pk=tickets[0].pattern_id) == pattern_before
    assert Feedback.objects.filter(trusted=False).count() == 3  # stored and shown


def test_the_submitters_feedback_does_not_count_even_with_the_teach_permission(
    client_for, integration, restart_runbook
):
    make_teacher(integration)
    t = analyzed_ticket(
        integration, "SELF-T", title="Service down on prod-web-01", description="Not responding."
    )
    r = client_for(integration).post(FEEDBACK, {"ticket_id": "SELF-T", **POISON}, format="json")
    assert r.status_code == 201 and r.json()["trusted"] is False
    t.refresh_from_db()
    assert (t.status, t.outcome) == (TicketStatus.ANALYZED, "unknown")


@pytest.mark.parametrize("status", ["processing", "awaiting_approval", "remediating"])
def test_early_feedback_is_refused_and_changes_nothing(client_for, teacher, user, status):
    r = client_for(user).post(
        TICKETS,
        {"ticket_id": "EARLY-1", "title": "Disk full", "description": "x", "category": "storage"},
        format="json",
    )
    assert r.status_code == 201
    ticket = Ticket.objects.get(ticket_id="EARLY-1")
    if status != "processing":
        Ticket.objects.filter(pk=ticket.pk).update(status=status)
    r = client_for(teacher).post(FEEDBACK, {"ticket_id": "EARLY-1", **POISON}, format="json")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "ticket_busy"
    assert not Feedback.objects.exists()


def test_a_measured_success_is_not_flipped_and_disagreement_is_flagged(
    client_for, teacher, user, restart_runbook
):
    ticket = analyzed_ticket(
        user,
        "MEAS-1",
        title="Service down on prod-web-01",
        description="The web service on prod-web-01 is not responding.",
        executed=True,
    )
    move(ticket, TicketStatus.RESOLVED, outcome="success", reason="post-checks passed")
    pattern_before = Pattern.objects.get(pk=ticket.pattern_id)
    r = client_for(teacher).post(
        FEEDBACK,
        {"ticket_id": "MEAS-1", "feedback_type": "negative", "rating": 1, "actions_worked": False},
        format="json",
    )
    assert r.status_code == 201
    assert r.json()["ticket_outcome"] == "success"
    ticket.refresh_from_db()
    assert (ticket.status, ticket.outcome, ticket.needs_review) == ("resolved", "success", True)
    pattern = Pattern.objects.get(pk=ticket.pattern_id)
    assert pattern.needs_review is True and pattern.eligible_for_auto_remediation is False
    assert (pattern.success_count, pattern.failure_count) == (
        pattern_before.success_count,
        pattern_before.failure_count,
    )
    # Measured outcomes outweigh ratings: the disagreeing verdict is kept and flagged, not
    # counted in the pattern's feedback rate.
    assert (pattern.positive_feedback_count, pattern.negative_feedback_count) == (
        pattern_before.positive_feedback_count,
        pattern_before.negative_feedback_count,
    )
    assert Feedback.objects.get().disagrees is True


# --- inputs that gave 500s --------------------------------------------------------------


def test_deeply_nested_json_is_a_400(api):
    body = '{"ticket_id": "X", "actual_actions_taken": ' + "[" * 3000 + "]" * 3000 + "}"
    r = api.post(FEEDBACK, data=body, content_type="application/json")
    assert r.status_code == 400
    assert "nested" in r.json()["error"]["message"]


def test_lone_surrogates_are_a_400(api, user, restart_runbook):
    analyzed_ticket(user, "SUR-1", title="Service down", description="Not responding.")
    body = (
        '{"ticket_id": "SUR-1", "feedback_type": "neutral", "rating": 3, '
        '"actual_actions_taken": ["fixed \\ud800 it"]}'
    )
    r = api.post(FEEDBACK, data=body, content_type="application/json")
    assert r.status_code == 400
    assert "surrogate" in r.json()["error"]["message"]
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(
    "path", ["/api/v1/tickets/INC%00-1", "/api/v1/tickets/%00/remediation-logs", "/api/v1/nope"]
)
def test_nul_in_a_path_and_unknown_api_paths_are_json_404s(api, path):
    r = api.get(path)
    assert r.status_code == 404
    assert r["Content-Type"] == "application/json"
    assert r.json()["error"]["code"] == "not_found"


def test_an_oversized_body_is_a_json_413(api, settings):
    body = json.dumps({"description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    r = api.post(TICKETS, data=body, content_type="application/json")
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("title", ["\u200b\u200b", "\u2060", "\ufeff \u200d", "\u3164", "\u00ad"])
def test_a_title_made_only_of_invisible_characters_is_refused(api, title):
    r = api.post(
        TICKETS,
        {"ticket_id": "INV-1", "title": title, "description": "d", "category": "server"},
        format="json",
    )
    assert r.status_code == 400
    assert "title" in r.json()["error"]["fields"]


def test_the_login_page_renders(client):
    r = client.get("/accounts/login/")
    assert r.status_code == 200
    assert b'name="username"' in r.content and b"csrfmiddlewaretoken" in r.content


# --- who reads patterns and stats -------------------------------------------------------

READ_PATHS = ["/api/v1/patterns", "/api/v1/stats/reliability"]


@pytest.mark.parametrize("path", READ_PATHS)
def test_an_integration_without_the_permission_gets_403_and_with_it_200(
    client_for, integration, path
):
    assert client_for(integration).get(path).status_code == 403
    integration.user_permissions.add(Permission.objects.get(codename="view_pattern_stats"))
    integration = type(integration).objects.get(pk=integration.pk)  # fresh permission cache
    assert client_for(integration).get(path).status_code == 200


@pytest.mark.parametrize("path", READ_PATHS)
def test_an_outsider_gets_401_and_an_approver_200(anon, client_for, path):
    assert anon.get(path).status_code == 401
    from django.contrib.auth.models import Group

    approver = UserFactory(username="approver")
    approver.groups.add(Group.objects.get(name="Approvers"))
    assert client_for(approver).get(path).status_code == 200


def test_an_admin_clears_the_review_flag_and_eligibility_is_settled_again(client, settings):
    from tests.support.factories import PatternFactory

    settings.PATTERN_MIN_OCCURRENCES = 1
    pattern = PatternFactory(
        occurrence_count=5,
        success_count=5,
        positive_feedback_count=5,
        positive_feedback_rate=1.0,
        reliability_sum=450.0,
        reliability_count=5,
        avg_reliability_score=90.0,
        auto_remediation_attempts=5,
        auto_remediation_successes=5,
        auto_remediation_success_rate=1.0,
        needs_review=True,
    )
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    r = client.post(
        "/admin/patterns/pattern/",
        {"action": "clear_review", "_selected_action": [pattern.pk]},
    )
    assert r.status_code == 302
    pattern.refresh_from_db()
    assert pattern.needs_review is False and pattern.eligible_for_auto_remediation is True
