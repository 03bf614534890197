"""Writing the audit trail. Every change of a ticket calls ``audit`` inside its transaction."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from patterns.models import Pattern
from remediation.models import AuditAction, AuditEvent, Ticket

SYSTEM = "system"

# One log line per audited event, for log pipelines; the audit table stays the record.
events_logger = logging.getLogger("remediation.events")


def audit(
    action: AuditAction,
    message: str,
    *,
    ticket: Ticket | None = None,
    pattern: Pattern | None = None,
    acting_user: User | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit() must run inside the transaction of the change it records")
    event = AuditEvent.objects.create(
        ticket=ticket,
        pattern=pattern,
        actor=acting_user,
        actor_label=acting_user.get_username() if acting_user is not None else SYSTEM,
        action=action,
        message=message,
        details=details or {},
    )
    fields = {
        "event": str(action),
        "ticket_id": ticket.ticket_id if ticket is not None else None,
        "user": event.actor_label,
        "category": ticket.category if ticket is not None else None,
        "status": str(ticket.status) if ticket is not None else None,
        "pattern": pattern.hash if pattern is not None else None,
    }
    # Logged once the change is committed: a rolled-back change must not appear in the logs
    # as if it had happened.
    transaction.on_commit(lambda: events_logger.info(message, extra=fields))
    return event
