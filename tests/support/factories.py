"""factory-boy factories shared by the suite. Each app's tests may add their own below."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.db import transaction

from patterns.models import Pattern
from remediation.analysis.services import ticket_analyze
from remediation.tickets import rollups
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.services import TicketInput, ticket_create
from remediation.tickets.transitions import ticket_transition

# Suggested actions as the analysis stores them: a safe one and a critical one.
# The diagnosis of a ticket whose cause the investigation observed: what the decision needs
# before anything may run unattended (``DecisionInput.observed``).
OBSERVED_DIAGNOSIS = {
    "cause": "hung",
    "cause_label": "process or guest hung while its host is healthy",
    "established": True,
    "confidence": 0.93,
    "basis": "observed",
    "evidence": ["observed: get_vm prod-web-01: guest heartbeat red for 412 s"],
    "observed_target": {"kind": "vm", "name": "prod-web-01"},
}

RESTART_VM = {
    "action": "Restart prod-web-01",
    "system": "prod-web-01",
    "operation": "restart_vm",
    "platform": "vmware",
    "params": {"vm": "prod-web-01"},
    "action_type": "safe_write",
    "rollback": "irreversible",
}
EXPAND_VOLUME = {
    "action": "Grow vol-data-01 to 200 GB",
    "system": "vol-data-01",
    "operation": "expand_volume",
    "platform": "storage",
    "params": {"volume": "vol-data-01", "size_gb": 200},
    "action_type": "critical_write",
    "rollback": "irreversible",
}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    ticket_id = factory.Sequence(lambda n: f"INC-{10000 + n}")
    title = "Service down"
    description = "Web service not responding on port 8080"
    category = "server"
    submitted_by = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Fill in the half of (status, outcome) a test left out, as the lifecycle
        requires: a resolved ticket succeeded, a ticket with a failure outcome failed."""
        status, outcome = kwargs.get("status"), kwargs.get("outcome")
        if status is not None and outcome is None:
            kwargs["outcome"] = {
                TicketStatus.RESOLVED: TicketOutcome.SUCCESS,
                TicketStatus.FAILED: TicketOutcome.FAILURE,
                TicketStatus.PARTIALLY_REMEDIATED: TicketOutcome.FAILURE,
            }.get(status, TicketOutcome.UNKNOWN)
            if status == TicketStatus.PARTIALLY_REMEDIATED:
                kwargs["auto_remediation_executed"] = True
        elif outcome is not None and status is None:
            kwargs["status"] = {
                TicketOutcome.SUCCESS: TicketStatus.RESOLVED,
                TicketOutcome.FAILURE: TicketStatus.FAILED,
            }.get(outcome, TicketStatus.PROCESSING)
        ticket = super()._create(model_class, *args, **kwargs)
        # Born concluded and analyzed, as if the lifecycle had got it there: counted in the
        # calibration rollup as ticket_transition would have counted it.
        rollups.record_calibration_change(None, rollups.calibration_key(ticket))
        return ticket


class PatternFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pattern

    hash = factory.Sequence(lambda n: f"{n:064x}")
    category = "server"
    key_terms = factory.LazyFunction(lambda: ["service", "down"])
    signature = factory.LazyAttribute(lambda p: f"{p.category}|{','.join(p.key_terms)}")


# --- learning (B2): tickets through the real intake and analysis services ----------------


def analyzed_ticket(submitter, ticket_id, *, title, description, category="server", executed=False):
    """A ticket created and analyzed through ``ticket_create`` + ``ticket_analyze``, as the
    queue worker would. ``executed`` marks its actions as having run (the state an approved
    execution leaves), so its concluded outcome counts as a remediation attempt."""
    ticket = ticket_create(
        TicketInput(ticket_id=ticket_id, title=title, description=description, category=category),
        acting_user=submitter,
    ).ticket
    ticket_analyze(ticket.pk)
    if executed:
        move(ticket, TicketStatus.REMEDIATING, executed=True, reason="approved, executing")
    return Ticket.objects.select_related("pattern").get(pk=ticket.pk)


def move(ticket, status, **kwargs):
    """Step ``ticket`` through the state machine as the approval/execution code would."""
    kwargs.setdefault("reason", f"test: to {status}")
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        ticket_transition(locked, status, **kwargs)
    return locked
