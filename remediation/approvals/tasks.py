"""django-q2 entry points of the approval flow: thin, take ids, safe to run twice."""

from __future__ import annotations

from remediation.approvals import notifications, services


def expire_approval_requests() -> str:
    """Run by a django-q2 schedule (created by a data migration) every minute."""
    return f"expired {services.approval_expire_due()}"


def notify_approvers(request_pk: int) -> str:
    return notifications.approvers_notify(request_pk)
