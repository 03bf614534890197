"""django-q2 task entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

from remediation import notifications, services


def analyze_ticket(ticket_pk: int) -> str:
    return services.ticket_analyze(ticket_pk)


def notify_admins(notice_pk: int) -> str:
    return notifications.admins_notify(notice_pk)
