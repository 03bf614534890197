"""django-q2 task entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

from remediation import services


def analyze_ticket(ticket_pk: int) -> str:
    return services.ticket_analyze(ticket_pk)
