"""django-q2 entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction

from remediation.audit import audit
from remediation.execution import services
from remediation.models import AuditAction, Ticket


def run_execution(ticket_pk: int) -> str:
    return services.execution_run(ticket_pk)


def sweep_executions() -> dict[str, int]:
    return services.execution_sweep()


def notify_admins(subject: str, body: str, ticket_pk: int | None = None) -> str:
    """Mail the administrators (ADMIN_EMAILS). Runs after the change committed; a second
    delivery sends a second mail, which is the lesser evil next to losing one."""
    mail_admins(subject, body, fail_silently=False)
    recipients = [email for _, email in settings.ADMINS]
    with transaction.atomic():
        ticket = Ticket.objects.filter(pk=ticket_pk).first() if ticket_pk else None
        audit(
            AuditAction.ADMINS_NOTIFIED,
            f"Administrators notified: {subject}"
            + ("" if recipients else " (no ADMIN_EMAILS configured)"),
            ticket=ticket,
            details={"subject": subject, "recipients": recipients},
        )
    return "sent"
