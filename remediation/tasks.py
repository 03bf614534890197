"""django-q2 task entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

from remediation.analysis import services as analysis_services
from remediation.notifications import services as notification_services


def analyze_ticket(ticket_pk: int) -> str:
    return analysis_services.ticket_analyze(ticket_pk)


def notify_admins(notice_pk: int) -> str:
    return notification_services.admins_notify(notice_pk)
