"""What actually worked, told in feedback, is what the next similar ticket is offered."""

from __future__ import annotations

import pytest

from remediation.analysis.models import Runbook, RunbookSource
from remediation.audit.models import AuditAction, AuditEvent
from tests.conftest import make_teacher
from tests.support.factories import UserFactory, analyzed_ticket

URL = "/api/v1/feedback"
TITLE = "High memory usage on {host}"
DESCRIPTION = (
    "The application on {host} is swapping and memory usage is critical; the workload has grown "
    "since new tenants were onboarded."
)


def memory_ticket(user, ticket_id, host):
    return analyzed_ticket(
        user,
        ticket_id,
        title=TITLE.format(host=host),
        description=DESCRIPTION.format(host=host),
    )


MEMORY_FEEDBACK = {
    "ticket_id": "INC-MEM-1",
    "feedback_type": "negative",
    "rating": 2,
    "actions_worked": False,
    "actual_resolution": "Had to increase memory instead",
    "actual_actions_taken": [
        "Looked at the swap graphs",
        {"operation": "not_in_catalogue", "system": "prod-app-01"},
        {
            "operation": "increase_memory",
            "system": "prod-app-01",
            "params": {"memory_gb": 16},
        },
    ],
}


@pytest.mark.django_db
def test_a_trusted_person_proposes_a_runbook_that_counts_once_an_admin_enables_it(
    teacher_api, user
):
    first = memory_ticket(user, "INC-MEM-1", "prod-app-01")
    assert all(a["operation"] != "increase_memory" for a in first.suggested_actions)

    response = teacher_api.post(URL, MEMORY_FEEDBACK, format="json")
    assert response.status_code == 201, response.json()

    runbook = Runbook.objects.get(source=RunbookSource.FEEDBACK)
    assert runbook.operation == "increase_memory"
    assert runbook.params == {"memory_gb": 16}  # the target comes from each new ticket
    assert runbook.learned_from == first
    assert runbook.pattern == first.pattern
    assert runbook.enabled is False  # a proposal until reviewed
    assert [u.username for u in runbook.taught_by.all()] == ["tess"]
    assert runbook.resolution == "Had to increase memory instead"
    assert runbook.symptom_list == list(first.pattern.key_terms)
    learned = AuditEvent.objects.get(ticket=first, action=AuditAction.RUNBOOK_LEARNED)
    assert learned.details["operation"] == "increase_memory"

    # Not yet enabled: the next ticket of the pattern does not get it.
    second = memory_ticket(user, "INC-MEM-2", "prod-app-07")
    assert second.pattern == first.pattern
    assert all(a["operation"] != "increase_memory" for a in second.suggested_actions)

    runbook.enabled = True  # what the admin's review does
    runbook.save()
    third = memory_ticket(user, "INC-MEM-3", "prod-app-08")
    top = third.suggested_actions[0]
    assert top["operation"] == "increase_memory"
    assert top["system"] == "prod-app-08"
    assert top["params"]["memory_gb"] == 16
    assert "Proposed: Increase the VM's memory on prod-app-08" in third.resolution


@pytest.mark.django_db
def test_two_distinct_trusted_people_teaching_the_same_fix_enable_it(teacher_api, client_for, user):
    memory_ticket(user, "INC-MEM-1", "prod-app-01")
    assert teacher_api.post(URL, MEMORY_FEEDBACK, format="json").status_code == 201
    second_teacher = make_teacher(UserFactory(username="olga"))
    r = client_for(second_teacher).post(URL, MEMORY_FEEDBACK, format="json")
    assert r.status_code == 201
    runbook = Runbook.objects.get(source=RunbookSource.FEEDBACK)  # still one per operation
    assert runbook.enabled is True
    assert runbook.taught_by.count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.RUNBOOK_ACTIVATED).count() == 1


@pytest.mark.django_db
def test_a_different_fix_for_the_same_operation_does_not_count(teacher_api, client_for, user):
    memory_ticket(user, "INC-MEM-1", "prod-app-01")
    assert teacher_api.post(URL, MEMORY_FEEDBACK, format="json").status_code == 201
    other = make_teacher(UserFactory(username="olga"))
    different = {
        **MEMORY_FEEDBACK,
        "actual_actions_taken": [
            {"operation": "increase_memory", "system": "prod-app-01", "params": {"memory_gb": 64}}
        ],
    }
    assert client_for(other).post(URL, different, format="json").status_code == 201
    runbook = Runbook.objects.get(source=RunbookSource.FEEDBACK)
    assert (runbook.enabled, runbook.params, runbook.taught_by.count()) == (
        False,
        {"memory_gb": 16},
        1,
    )


@pytest.mark.django_db
def test_the_submitters_own_feedback_teaches_nothing(api, user):
    memory_ticket(user, "INC-MEM-1", "prod-app-01")
    response = api.post(URL, MEMORY_FEEDBACK, format="json")
    assert response.status_code == 201
    assert response.json()["trusted"] is False
    assert not Runbook.objects.filter(source=RunbookSource.FEEDBACK).exists()


@pytest.mark.django_db
def test_without_a_valid_action_it_falls_back_to_the_ticket_suggestion(
    teacher_api, user, restart_runbook
):
    ticket = analyzed_ticket(
        user,
        "INC-RB-1",
        title="Service down on prod-web-01",
        description="The web service on prod-web-01 is not responding; the VM is hung.",
    )
    assert ticket.suggested_actions[0]["operation"] == "restart_vm"
    response = teacher_api.post(
        URL,
        {
            "ticket_id": "INC-RB-1",
            "feedback_type": "positive",
            "rating": 4,
            "resolution_accurate": True,
            "actual_resolution": "Restarted it, but drained the load balancer first.",
            "actual_actions_taken": [
                "drained the load balancer",
                {"operation": "reboot_everything"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201
    runbook = Runbook.objects.get(source=RunbookSource.FEEDBACK)
    assert runbook.operation == "restart_vm"
    assert AuditEvent.objects.get(action=AuditAction.RUNBOOK_LEARNED).details["operation_from"] == (
        "suggested_actions"
    )


@pytest.mark.django_db
def test_nothing_is_learned_when_no_operation_can_be_named(teacher_api, user):
    memory_ticket(user, "INC-MEM-9", "prod-app-09")
    response = teacher_api.post(
        URL,
        {
            "ticket_id": "INC-MEM-9",
            "feedback_type": "negative",
            "rating": 1,
            "actual_resolution": "Called the vendor.",
        },
        format="json",
    )
    assert response.status_code == 201
    assert not Runbook.objects.filter(source=RunbookSource.FEEDBACK).exists()
    event = AuditEvent.objects.get(action=AuditAction.RUNBOOK_LEARNED)
    assert event.details["learned"] is False


@pytest.mark.django_db
def test_feedback_without_what_worked_learns_nothing(api, user):
    memory_ticket(user, "INC-MEM-3", "prod-app-03")
    api.post(
        URL, {"ticket_id": "INC-MEM-3", "feedback_type": "neutral", "rating": 3}, format="json"
    )
    assert not AuditEvent.objects.filter(action=AuditAction.RUNBOOK_LEARNED).exists()
