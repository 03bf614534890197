"""E-mail to people: approvers when a request starts waiting, administrators when things go
wrong (failure, rollback, unknown outcome, an opened circuit breaker: ``admins_notify_later``,
the one path every part uses). Sent only from tasks, that is after the change committed,
never inside a transaction. Django's mail backends: console by default, SMTP from ``EMAIL_URL``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.core.mail import mail_admins, send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from remediation.approvals.models import ApprovalRequest, ApprovalStatus
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.notifications.models import AdminEvent, AdminNotice
from remediation.tickets.models import Ticket

logger = logging.getLogger(__name__)

ADMIN_TASK = "remediation.tasks.notify_admins"


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def permission_holders() -> QuerySet[User]:
    """Active users holding approve_remediation directly, through a group, or as superuser."""
    perm = Permission.objects.filter(
        codename="approve_remediation", content_type__app_label="remediation"
    ).first()
    users = get_user_model().objects.filter(is_active=True)
    condition = Q(is_superuser=True)
    if perm is not None:
        condition |= Q(user_permissions=perm) | Q(groups__permissions=perm)
    return users.filter(condition).distinct()


def approver_recipients(request: ApprovalRequest) -> list[str]:
    """The policy's approvers, else the permission holders; never the submitter."""
    ticket = request.ticket
    submitter = (ticket.submitted_by.email or "").strip().lower()
    if request.approvers:
        emails = [str(e).strip() for e in request.approvers]
    else:
        emails = [
            u.email.strip()
            for u in permission_holders().exclude(pk=ticket.submitted_by_id)
            if u.email and u.email.strip()
        ]
    return sorted({e for e in emails if e and e.lower() != submitter})


def approvers_notify(request_pk: int) -> str:
    """Mail the request's approvers once. Claimed with a conditional update so a second
    delivery of the task sends nothing; released again if sending fails, so the task's
    retry sends it."""
    request = (
        ApprovalRequest.objects.select_related("ticket", "ticket__submitted_by")
        .filter(pk=request_pk)
        .first()
    )
    if request is None or request.status != ApprovalStatus.PENDING:
        return "skipped: no pending request"
    claimed = ApprovalRequest.objects.filter(pk=request_pk, notified_at=None).update(
        notified_at=timezone.now()
    )
    if claimed != 1:
        return "skipped: already notified"
    recipients = approver_recipients(request)
    if not recipients:
        logger.warning("approval request %s has nobody to notify", request_pk)
        return "nobody to notify"
    ticket = request.ticket
    decision = ticket.remediation_decision or {}
    link = absolute(reverse("approvals:detail", args=[ticket.ticket_id]))
    score = ticket.reliability_score
    body = (
        f"Ticket {ticket.ticket_id} waits for your approval.\n\n"
        f"Title: {ticket.title}\nCategory: {ticket.category}\n"
        f"Risk: {decision.get('risk_level') or 'unknown'}\n"
        f"Reliability: {'n/a' if score is None else f'{score:.1f}'}\n"
        f"Approvals needed: {request.required_approvals}\n"
        f"Expires: {request.expires_at:%Y-%m-%d %H:%M} UTC\n\n"
        f"Review and decide: {link}\n"
    )
    try:
        send_mail(
            f"[Auto-remediation] Approval needed: {ticket.ticket_id} {ticket.title}"[:200],
            body,
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
    except Exception:
        ApprovalRequest.objects.filter(pk=request_pk).update(notified_at=None)
        raise
    return f"notified {len(recipients)}"


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
    lines = [notice.body]
    if ticket is not None:
        link = absolute(reverse("admin:remediation_ticket_change", args=[ticket.pk]))
        lines = [
            f"Ticket {ticket.ticket_id} ({ticket.title}): {AdminEvent(notice.event).label}.",
            notice.body,
            f"Status: {ticket.status}. {ticket.status_reason}",
            f"Details: {link}",
        ]
    try:
        mail_admins(f"[Auto-remediation] {notice.subject}"[:150], "\n\n".join(lines) + "\n")
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
    return f"notified admins: {notice.event}"
