"""Writing the audit trail. Every change of a ticket calls ``audit`` inside its transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from patterns.models import Pattern
from remediation.models import AuditAction, AuditEvent, Ticket

SYSTEM = "system"


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
    return AuditEvent.objects.create(
        ticket=ticket,
        pattern=pattern,
        actor=acting_user,
        actor_label=acting_user.get_username() if acting_user is not None else SYSTEM,
        action=action,
        message=message,
        details=details or {},
    )
