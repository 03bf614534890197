"""E-mail (text and HTML) and chat/webhook channels to administrators when things go
wrong (failure, rollback, unknown outcome, an opened circuit breaker: ``admins_notify_later``,
the one path every part uses). Sent only from tasks, that is after the change committed,
never inside a transaction. Django's mail backends: console by default, SMTP from ``EMAIL_URL``.
Approvers' mail lives with the approval flow (``remediation.approvals.notifications``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.notifications.channels import PROBLEM, channels_notify, message
from remediation.notifications.models import AdminEvent, AdminNotice, SlackMessage, SlackUpdate
from remediation.tickets.models import Ticket

logger = logging.getLogger(__name__)

ADMIN_TASK = "remediation.tasks.notify_admins"
SLACK_UPDATE_TASK = "remediation.tasks.update_slack"


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def admins_notify_later(
    ticket: Ticket | None, event: AdminEvent, *, key: str, subject: str, detail: str
) -> bool:
    """Owe the administrators one e-mail about ``event``, identified by ``key`` (the event
    itself: the execution and its end state, the breaker and when it opened). Call it
    inside the transaction that records the event: the row and the task commit with it, and
    the ORM broker delivers the task only after commit. The same key twice owes one mail.
    Returns False when that mail was already owed."""
    notice, created = AdminNotice.objects.get_or_create(
        key=key[:200],
        defaults={
            "event": event,
            "ticket": ticket,
            "subject": subject[:200],
            "body": detail[:5000],
        },
    )
    if created:
        async_task(ADMIN_TASK, notice.pk, task_name=f"notify admins {event}"[:100])
    return created


def admins_notify(notice_pk: int) -> str:
    """Send one owed mail to ``ADMINS``, once: claimed by a conditional update so that a
    second delivery of the task sends nothing; released if sending fails, so the task's
    retry sends it. The audit row records who was told."""
    claimed = AdminNotice.objects.filter(pk=notice_pk, sent_at=None).update(sent_at=timezone.now())
    if claimed != 1:
        return "skipped: already sent"
    notice = AdminNotice.objects.select_related("ticket").get(pk=notice_pk)
    ticket = notice.ticket
    msg = message(
        PROBLEM,
        {
            "ticket": ticket,
            "event": AdminEvent(notice.event).label,
            "subject": notice.subject,
            "detail": notice.body,
            "link": absolute(reverse("admin:remediation_ticket_change", args=[ticket.pk]))
            if ticket is not None
            else "",
        },
    )
    try:
        mail_admins(msg.subject[:150], msg.text, html_message=msg.html)
    except Exception:
        AdminNotice.objects.filter(pk=notice_pk).update(sent_at=None)
        raise
    recipients = [email for _, email in settings.ADMINS]
    with transaction.atomic():
        audit(
            AuditAction.ADMINS_NOTIFIED,
            f"Administrators notified: {notice.subject}"
            + ("" if recipients else " (no ADMIN_EMAILS configured)"),
            ticket=ticket,
            details={"event": notice.event, "key": notice.key, "recipients": recipients},
        )
    channels_notify(PROBLEM, ticket, ticket.category if ticket else "", msg)
    return f"notified admins: {notice.event}"


def slack_update_later(ticket: Ticket, *, key: str, event: str, detail: str = "") -> bool:
    """Owe the ticket's approval message in Slack one update: the message shows the
    ticket's state again and its thread gets the line of ``event`` (``approval``: a
    decision; ``expired``; a ticket status execution moved it to; ``held``,
    ``did_not_hold``), once per ``key`` (the event itself).

    Call it inside the transaction that records the event: the row and its task commit
    with it, and the worker sends it after commit (never the request). Nothing is owed
    while Slack is not configured, nor for an event after the decision on a ticket that
    has no approval message. Returns False when nothing was owed anew."""
    configured = (
        settings.SLACK_SIGNING_SECRET
        and settings.SLACK_BOT_TOKEN
        and settings.SLACK_APPROVAL_CHANNEL
    )
    if not configured:
        return False
    if (
        event not in SLACK_EVENTS_BEFORE_POSTING
        and not SlackMessage.objects.filter(ticket=ticket).exists()
    ):
        return False
    update, created = SlackUpdate.objects.get_or_create(
        key=key[:200], defaults={"ticket": ticket, "event": event, "detail": detail[:2000]}
    )
    if created:
        async_task(SLACK_UPDATE_TASK, update.pk, task_name=f"update slack {ticket.ticket_id}"[:100])
    return created


# The approval's own events are owed even before the message is posted (the post may still
# be on its way): they wait for it. Later events concern tickets that have a message.
SLACK_EVENTS_BEFORE_POSTING = frozenset({"approval", "expired"})
