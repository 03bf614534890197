"""Building tickets that wait for approval through the real decision service."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from policies.models import AutoRemediationPolicy
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.deciding import decide
from tests.support.factories import RESTART_VM, PatternFactory, TicketFactory, UserFactory

RESTART_WEB_02 = {
    **RESTART_VM,
    "action": "Restart prod-web-02",
    "system": "prod-web-02",
    "params": {"vm": "prod-web-02"},
}

BREAKDOWN = {
    "overall_score": 72.5,
    "confidence_level": "medium",
    "breakdown": {
        "ai_confidence": "90%",
        "human_validation": "60%",
        "success_history": "75%",
        "pattern_recognition": "55%",
    },
}


def approver(username: str, **fields: Any):
    """A user in the Approvers group (created by the data migration)."""
    user = UserFactory(username=username, **fields)
    user.groups.add(Group.objects.get(name="Approvers"))
    return user


def policy(category: str = "server", **fields: Any) -> AutoRemediationPolicy:
    """A policy under which a trusted-looking ticket still needs people."""
    defaults: dict[str, Any] = {
        "name": f"{category}-policy",
        "category": category,
        "allowed_action_types": ["safe_write"],
        "min_confidence_score": 0.5,
        "min_reliability_score": 50.0,
        "auto_approve_threshold": None,
    }
    defaults.update(fields)
    return AutoRemediationPolicy.objects.update_or_create(category=category, defaults=defaults)[0]


def awaiting_ticket(submitter, *, category: str = "server", **fields: Any) -> Ticket:
    """A ticket decided by ``ticket_decide`` into awaiting_approval (a connector double
    must be installed, see the ``lab`` fixture)."""
    pattern = fields.pop("pattern", None) or PatternFactory(
        category=category, eligible_for_auto_remediation=False, occurrence_count=3
    )
    defaults: dict[str, Any] = {
        "submitted_by": submitter,
        "category": category,
        "status": TicketStatus.PROCESSING,
        "auto_remediation_enabled": True,
        "resolution": "Restart the web VM; the service comes back with it.",
        "suggested_actions": [RESTART_VM],
        "confidence_score": 0.9,
        "reliability_score": 72.5,
        "reliability_breakdown": BREAKDOWN,
        "pattern": pattern,
    }
    defaults.update(fields)
    ticket = TicketFactory(**defaults)
    decide(ticket)
    assert ticket.status == TicketStatus.AWAITING_APPROVAL, ticket.status_reason
    return ticket
