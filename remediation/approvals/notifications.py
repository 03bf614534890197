"""E-mail (text and HTML) and chat/webhook channels to approvers when a request starts
waiting; sent from a task, after commit. The message comes from
``templates/notifications/approval_needed.*``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.core.mail import send_mail
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from remediation.approvals.models import ApprovalRequest, ApprovalStatus
from remediation.approvals.slack import approval_message_post, slack_enabled
from remediation.notifications.channels import APPROVAL_NEEDED, channels_notify, message
from remediation.notifications.services import absolute

logger = logging.getLogger(__name__)


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
    ticket = request.ticket
    decision = ticket.remediation_decision or {}
    score = ticket.reliability_score
    msg = message(
        APPROVAL_NEEDED,
        {
            "ticket": ticket,
            "request": request,
            "actions": [a for a in ticket.suggested_actions or [] if isinstance(a, dict)],
            "risk": decision.get("risk_level") or "unknown",
            "reliability": "n/a" if score is None else f"{score:.1f}",
            "link": absolute(reverse("approvals:detail", args=[ticket.ticket_id])),
        },
    )
    if recipients:
        try:
            send_mail(
                msg.subject,
                msg.text,
                settings.DEFAULT_FROM_EMAIL,
                recipients,
                html_message=msg.html,
            )
        except Exception:
            ApprovalRequest.objects.filter(pk=request_pk).update(notified_at=None)
            raise
    else:
        logger.warning("approval request %s has nobody to mail", request_pk)
    told = channels_notify(APPROVAL_NEEDED, ticket, ticket.category, msg)
    posted = approval_message_post(request) if slack_enabled() else ""
    if not recipients and not told and not posted:
        return "nobody to notify"
    return (
        f"notified {len(recipients)}"
        + (f" and {len(told)} channel(s)" if told else "")
        + (f"; {posted}" if posted else "")
    )
