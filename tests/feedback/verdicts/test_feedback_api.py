"""POST /api/v1/feedback: validation, access, and every effect in one transaction."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from feedback.models import Feedback
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import CategoryDailyStats, Ticket
from tests.support.factories import analyzed_ticket

URL = "/api/v1/feedback"


@pytest.fixture
def ticket(user, restart_runbook):
    return analyzed_ticket(
        user,
        "INC-FB-1",
        title="Service down on prod-web-01",
        description="The web service on prod-web-01 is not responding.",
    )


def body(**fields):
    return {"ticket_id": "INC-FB-1", "feedback_type": "positive", "rating": 5} | fields


@pytest.mark.django_db
def test_a_trusted_positive_feedback_is_stored_and_applies_every_effect(
    teacher_api, teacher, ticket
):
    score_before = ticket.reliability_score
    response = teacher_api.post(
        URL,
        body(
            was_helpful=True,
            resolution_accurate=True,
            actions_worked=True,
            comment="Perfect resolution, service is back up!",
            what_worked="The restart fixed it",
            what_didnt_work=None,
            suggestions="Could add more details",
            time_to_resolve=30.0,
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["user"] == "tess"
    assert data["ticket_id"] == "INC-FB-1"
    assert data["what_didnt_work"] == ""
    assert data["ticket_outcome"] == "success"
    assert data["trusted"] is True

    feedback = Feedback.objects.get()
    assert (feedback.user, feedback.rating, feedback.time_to_resolve) == (teacher, 5, 30.0)
    ticket.refresh_from_db()
    assert ticket.outcome == "success"
    assert ticket.reliability_score > score_before
    day = CategoryDailyStats.objects.get(category="server")
    assert (day.feedback_count, day.positive_count, day.rating_sum, day.success_count) == (
        1,
        1,
        5,
        1,
    )
    ticket.pattern.refresh_from_db()
    assert ticket.pattern.positive_feedback_count == 1
    assert ticket.pattern.success_count == 1
    actions = set(AuditEvent.objects.filter(ticket=ticket).values_list("action", flat=True))
    assert {AuditAction.FEEDBACK_SUBMITTED, AuditAction.OUTCOME_CHANGED} <= actions


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({"feedback_type": "positive", "resolution_accurate": True}, "success"),
        ({"feedback_type": "positive", "actions_worked": True}, "success"),
        ({"feedback_type": "positive"}, "unknown"),
        ({"feedback_type": "positive", "actions_worked": False}, "failure"),
        ({"feedback_type": "negative", "rating": 1}, "failure"),
        ({"feedback_type": "neutral", "rating": 3, "resolution_accurate": True}, "unknown"),
    ],
)
def test_the_outcome_follows_the_documented_rule(teacher_api, ticket, fields, outcome):
    assert teacher_api.post(URL, body(**fields), format="json").status_code == 201
    ticket.refresh_from_db()
    assert ticket.outcome == outcome


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "fields", "expected"),
    [
        ("analyzed", {"resolution_accurate": True}, "resolved"),
        ("manual_review", {"actions_worked": True}, "resolved"),
        ("analyzed", {}, "analyzed"),  # positive but says nothing worked: outcome unchanged
    ],
)
def test_a_person_confirming_the_fix_resolves_a_ticket_waiting_on_a_person(
    teacher_api, ticket, status, fields, expected
):
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    assert teacher_api.post(URL, body(**fields), format="json").status_code == 201
    ticket.refresh_from_db()
    assert ticket.status == expected
    assert (ticket.resolved_at is not None) == (expected == "resolved")
    changed = AuditEvent.objects.filter(
        ticket=ticket, action=AuditAction.STATUS_CHANGED, details__to="resolved"
    )
    assert changed.exists() == (expected == "resolved")


@pytest.mark.django_db
def test_a_second_feedback_by_the_same_person_is_a_conflict(teacher_api, ticket):
    assert teacher_api.post(URL, body(), format="json").status_code == 201
    response = teacher_api.post(URL, body(feedback_type="negative", rating=1), format="json")
    assert response.status_code == 409
    assert Feedback.objects.count() == 1
    ticket.refresh_from_db()
    assert CategoryDailyStats.objects.get(category="server").feedback_count == 1


@pytest.mark.django_db
def test_another_person_who_may_see_the_ticket_can_add_theirs(client_for, other_user, ticket):
    other_user.user_permissions.add(Permission.objects.get(codename="approve_remediation"))
    response = client_for(other_user).post(URL, body(feedback_type="neutral"), format="json")
    assert response.status_code == 201


@pytest.mark.django_db
def test_it_answers_404_for_a_ticket_the_caller_may_not_see(client_for, other_user, ticket):
    response = client_for(other_user).post(URL, body(), format="json")
    assert response.status_code == 404
    assert "ticket_id" in response.json()["error"]["fields"]
    assert not Feedback.objects.exists()


@pytest.mark.django_db
def test_it_answers_404_for_an_unknown_ticket(api, ticket):
    assert api.post(URL, body(ticket_id="NOPE-1"), format="json").status_code == 404


@pytest.mark.django_db
def test_it_needs_authentication(anon, ticket):
    assert anon.post(URL, body(), format="json").status_code in (401, 403)
    assert not Feedback.objects.exists()


@pytest.mark.django_db
def test_the_user_comes_from_authentication_never_the_body(api, user, other_user, ticket):
    # A body naming a user is refused outright (unknown field), never taken as the author.
    r = api.post(URL, body(user=other_user.pk), format="json")
    assert r.status_code == 400
    assert "user" in r.json()["error"]["fields"]
    assert not Feedback.objects.exists()
    assert api.post(URL, body(), format="json").status_code == 201
    assert Feedback.objects.get().user == user


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ticket_id": None}, "ticket_id"),
        ({"ticket_id": "x" * 65}, "ticket_id"),
        ({"ticket_id": "INC\x00"}, "ticket_id"),
        ({"feedback_type": "ecstatic"}, "feedback_type"),
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": 4.5}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"rating": True}, "rating"),
        ({"rating": None}, "rating"),
        ({"was_helpful": "yes"}, "was_helpful"),
        ({"actions_worked": 1}, "actions_worked"),
        ({"comment": "x" * 5001}, "comment"),
        ({"comment": "nul \x00 byte"}, "comment"),
        ({"what_worked": "bell \x07"}, "what_worked"),
        ({"suggestions": 12}, "suggestions"),
        ({"actual_resolution": "x" * 10001}, "actual_resolution"),
        ({"time_to_resolve": -1}, "time_to_resolve"),
        ({"time_to_resolve": 525601}, "time_to_resolve"),
        ({"time_to_resolve": "NaN"}, "time_to_resolve"),
        ({"actual_actions_taken": "restart"}, "actual_actions_taken"),
        ({"actual_actions_taken": ["ok"] * 21}, "actual_actions_taken"),
        ({"actual_actions_taken": ["x" * 501]}, "actual_actions_taken"),
        ({"actual_actions_taken": [""]}, "actual_actions_taken"),
        ({"actual_actions_taken": [42]}, "actual_actions_taken"),
        ({"actual_actions_taken": [{"system": "prod-web-01"}]}, "actual_actions_taken"),
        ({"actual_actions_taken": [{"operation": "x", "shell": "rm"}]}, "actual_actions_taken"),
        ({"actual_actions_taken": [{"operation": "x", "params": []}]}, "actual_actions_taken"),
        (
            {"actual_actions_taken": [{"operation": "x", "params": {"a": {"b": 1}}}]},
            "actual_actions_taken",
        ),
        ({"actual_actions_taken": [{"operation": "x\x00"}]}, "actual_actions_taken"),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_changes_nothing(api, ticket, fields, field):
    response = api.post(URL, body(**fields), format="json")
    assert response.status_code == 400, response.json()
    names = response.json()["error"]["fields"]
    # List items are named by index, as everywhere: actual_actions_taken[0].
    assert any(name == field or name.startswith((f"{field}.", f"{field}[")) for name in names), (
        names
    )
    assert not Feedback.objects.exists()
    ticket.refresh_from_db()
    assert ticket.outcome == "unknown"


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["ticket_id", "feedback_type", "rating"])
def test_it_refuses_a_missing_required_field(api, ticket, missing):
    data = body()
    del data[missing]
    response = api.post(URL, data, format="json")
    assert response.status_code == 400
    assert missing in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_it_refuses_a_body_that_is_not_an_object(api, ticket):
    assert api.post(URL, [1, 2], format="json").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_two_feedbacks_racing_from_one_person_store_one(user, teacher, client_for, restart_runbook):
    analyzed_ticket(
        user,
        "INC-FB-1",
        title="Service down on prod-web-01",
        description="The web service on prod-web-01 is not responding.",
    )
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def submit():
        client = client_for(teacher)
        barrier.wait()
        statuses.append(client.post(URL, body(), format="json").status_code)
        connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409]
    assert Feedback.objects.count() == 1
    assert CategoryDailyStats.objects.get(category="server").feedback_count == 1
    # The loser's transaction left nothing behind: the pattern counted the feedback once.
    assert Ticket.objects.get(ticket_id="INC-FB-1").pattern.positive_feedback_count == 1
