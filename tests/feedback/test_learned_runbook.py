"""What actually worked, told in feedback, is what the next similar ticket is offered."""

from __future__ import annotations

import pytest

from remediation.models import AuditAction, AuditEvent, Runbook, RunbookSource
from tests.factories import analyzed_ticket

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


@pytest.mark.django_db
def test_after_feedback_a_similar_ticket_gets_the_operation_that_actually_worked(api, user):
    first = memory_ticket(user, "INC-MEM-1", "prod-app-01")
    assert all(a["operation"] != "increase_memory" for a in first.suggested_actions)

    response = api.post(
        URL,
        {
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
        },
        format="json",
    )
    assert response.status_code == 201, response.json()

    runbook = Runbook.objects.get(source=RunbookSource.FEEDBACK)
    assert runbook.operation == "increase_memory"
    assert runbook.params == {"memory_gb": 16}  # the target comes from each new ticket
    assert runbook.learned_from == first
    assert runbook.category == "server"
    assert runbook.resolution == "Had to increase memory instead"
    assert runbook.symptom_list == list(first.pattern.key_terms)
    learned = AuditEvent.objects.get(ticket=first, action=AuditAction.RUNBOOK_LEARNED)
    assert learned.details["operation"] == "increase_memory"

    second = memory_ticket(user, "INC-MEM-2", "prod-app-07")
    assert second.pattern == first.pattern
    top = second.suggested_actions[0]
    assert top["operation"] == "increase_memory"
    assert top["system"] == "prod-app-07"
    assert top["params"]["memory_gb"] == 16
    assert "Proposed: Increase the VM's memory on prod-app-07" in second.resolution


@pytest.mark.django_db
def test_without_a_valid_action_it_falls_back_to_the_ticket_suggestion(api, user, restart_runbook):
    ticket = analyzed_ticket(
        user,
        "INC-RB-1",
        title="Service down on prod-web-01",
        description="The web service on prod-web-01 is not responding; the VM is hung.",
    )
    assert ticket.suggested_actions[0]["operation"] == "restart_vm"
    response = api.post(
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
def test_nothing_is_learned_when_no_operation_can_be_named(api, user):
    memory_ticket(user, "INC-MEM-9", "prod-app-09")
    response = api.post(
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
