"""django-q2 task entry points: thin, take ids, safe to run twice."""

from __future__ import annotations

from datetime import datetime

from django_q.tasks import async_task

from remediation.analysis import services as analysis_services
from remediation.approvals import services as approval_services
from remediation.approvals.slack import messages as slack_messages
from remediation.decisions import services as decision_services
from remediation.execution import services as execution_services
from remediation.notifications import services as notification_services

ANALYZE_TASK = "remediation.tasks.analyze_ticket"
# How many times one analysis may give its turn to other submitters before it runs anyway.
MAX_YIELDS = 20


def analyze_ticket(ticket_pk: int, yields: int = 0) -> str:
    if yields < MAX_YIELDS and not analysis_services.analysis_may_start(ticket_pk):
        # Back of the queue: another submitter's ticket waits and this one's had its share.
        async_task(ANALYZE_TASK, ticket_pk, yields + 1, task_name=f"analyze {ticket_pk} (yielded)")
        return f"yielded its turn ({yields + 1})"
    return analysis_services.ticket_analyze(ticket_pk)


def confirm_fix(ticket_pk: int) -> str:
    """At the end of a measured fix's hold time (scheduled when the execution succeeded)."""
    return execution_services.fix_confirm(ticket_pk)


def notify_admins(notice_pk: int) -> str:
    return notification_services.admins_notify(notice_pk)


def update_slack(update_pk: int) -> str:
    """The approval message in Slack shows an event (``SlackUpdate``), after commit."""
    return slack_messages.slack_update_deliver(update_pk)


def remediation_resumed(category: str, paused_at: str) -> str:
    """After a pause was lifted (queued by ``policies.services.remediation_resume``):
    requests that waited go on (deadlines moved by the pause, approved ones executed), and
    tickets decided while paused are decided again. Safe to run twice."""
    since = datetime.fromisoformat(paused_at)
    handed = approval_services.approvals_after_resume(category=category, paused_at=since)
    decided = decision_services.tickets_redecide_after_resume(category=category)
    return f"resumed {category or 'every category'}: {handed} approved, {decided} decided again"
