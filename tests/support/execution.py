"""Building tickets that are ready to execute, as an approval or auto-approval leaves them,
and reading the lab's state file (the lab is a separate program; its file is the truth)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from lab.state import LabState
from policies.models import AutoRemediationPolicy
from remediation.catalogue.rules.operations import validate_suggestions
from remediation.execution.services import execution_request
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.factories import PatternFactory, TicketFactory

ALL_PLATFORMS = ["vmware", "kubernetes", "network", "storage", "openstack"]
LAB_CATEGORY = "lab"


def lab_policy(**fields: Any) -> AutoRemediationPolicy:
    """A policy for the test category that allows every action the tests run."""
    defaults: dict[str, Any] = {
        "name": "lab-policy",
        "category": LAB_CATEGORY,
        "allowed_action_types": ["safe_write", "critical_write"],
        "allowed_systems": ALL_PLATFORMS,
        "forbidden_commands": [],
        "auto_approve_threshold": 50.0,
        "max_actions_per_hour": 1000,
        "circuit_breaker_threshold": 1000,
    }
    defaults.update(fields)
    policy, _ = AutoRemediationPolicy.objects.update_or_create(
        category=defaults.pop("category"), defaults=defaults
    )
    return policy


def action(operation: str, **params: Any) -> dict[str, Any]:
    actions, dropped = validate_suggestions([{"operation": operation, "params": params}])
    assert actions, dropped
    return actions[0].to_dict()


def approved_ticket(
    actions: list[dict[str, Any]], *, ticket_id: str | None = None, pattern=None, via: str = "auto"
) -> Ticket:
    """A ticket whose decision allowed execution without approval, then requested."""
    fields: dict[str, Any] = {
        "category": LAB_CATEGORY,
        "status": TicketStatus.ANALYZED,
        "auto_remediation_enabled": True,
        "suggested_actions": actions,
        "resolution": "Fix it on the lab.",
        "confidence_score": 0.95,
        "reliability_score": 95.0,
        "decision_policy": "lab-policy",
        "pattern": pattern or PatternFactory(category=LAB_CATEGORY),
        "remediation_decision": {
            "allowed": True,
            "requires_approval": False,
            "action_type": "safe_write",
            "reasoning": ["test"],
            "safety_checks": {},
            "risk_level": "medium",
            "policy": "lab-policy",
            "decided_at": timezone.now().isoformat(),
        },
    }
    if ticket_id:
        fields["ticket_id"] = ticket_id
    ticket = TicketFactory(**fields)
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        execution_request(locked, acting_user=None, via=via)
    ticket.refresh_from_db()
    return ticket


def lab_world(path) -> dict[str, Any]:
    with LabState(path).tx() as tx:
        return tx.world


def lab_writes(path) -> list[dict[str, Any]]:
    return LabState(path).writes()


def stage(path, *, fault: dict[str, Any] | None = None, condition: tuple | None = None) -> None:
    """Stage a fault or a condition in the lab's file, as `manage.py lab` does over MCP."""
    from lab import engine  # the test reads and writes the lab's own file directly

    state = LabState(path)
    with state.tx() as tx:
        if fault is not None:
            tx.add_fault(
                fault["kind"],
                fault["target"],
                fault.get("operation"),
                fault.get("count", 1),
                fault.get("seconds"),
            )
            if fault["kind"] == "maintenance":
                tx.world["objects"][fault["target"]]["maintenance"] = True
                tx.save()
        if condition is not None:
            engine.set_condition(tx.world, *condition)
            tx.save()
