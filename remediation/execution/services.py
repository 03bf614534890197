"""PLACEHOLDER for issue [5/10]'s choke point; replaced on merge by the real one.

Only the contract the approval flow relies on is here: ``execution_request`` is called
inside ``transaction.atomic()`` with the ticket row locked, from ``awaiting_approval``; it
moves the ticket to ``remediating`` and audits. The real one also enqueues the execution on
the ORM broker in the same transaction. This placeholder executes nothing.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from remediation.audit import audit
from remediation.models import AuditAction, Ticket, TicketStatus

# Marks this module as the stand-in: tests that need the real execution skip while it is here.
PLACEHOLDER = True


def execution_request(ticket: Ticket, *, acting_user: User | None, via: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "execution_request must run inside the transaction that locked the ticket"
        )
    old = ticket.status
    ticket.status = TicketStatus.REMEDIATING
    ticket.status_reason = f"Approved ({via}); execution requested"
    ticket.remediation_started_at = timezone.now()
    ticket.save(update_fields=["status", "status_reason", "remediation_started_at", "updated_at"])
    audit(
        AuditAction.EXECUTION_REQUESTED,
        f"Execution requested via {via} (placeholder: nothing executes on this branch)",
        ticket=ticket,
        acting_user=acting_user,
        details={"via": via, "from": old, "to": ticket.status},
    )
