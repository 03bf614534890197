"""Writes of the live kill switch: pause and resume auto-remediation, everywhere or for one
category. Each is audited in the same transaction; the switch is read again at every
decision and every execution claim (``policies.selectors.pause_in_force``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from policies.models import RemediationPause
from policies.rules.category import normalize_category
from remediation.audit.models import AuditAction
from remediation.audit.services import audit

RESUMED_TASK = "remediation.tasks.remediation_resumed"


@dataclass(frozen=True)
class PauseResult:
    pause: RemediationPause
    created: bool  # False: it was paused already (the first reason stands)


def remediation_pause(*, category: str, reason: str, user: User) -> PauseResult:
    """Pause auto-remediation for ``category`` ("" for every category). Pausing what is
    paused already changes nothing (and is not audited again). The category is normalized
    (``CACHE`` pauses ``cache``, the way tickets store it)."""
    category = normalize_category(category)
    with transaction.atomic():
        existing = RemediationPause.objects.select_for_update().filter(category=category).first()
        if existing is not None:
            return PauseResult(existing, created=False)
        try:
            with transaction.atomic():
                pause = RemediationPause.objects.create(
                    category=category, reason=reason, paused_by=user
                )
        except IntegrityError:  # paused by someone else a moment ago
            return PauseResult(RemediationPause.objects.get(category=category), created=False)
        audit(
            AuditAction.REMEDIATION_PAUSED,
            f"Auto-remediation paused for {pause.scope} by {user.get_username()}: {reason}",
            acting_user=user,
            details={"category": category, "reason": reason},
        )
    return PauseResult(pause, created=True)


def remediation_resume(*, category: str, user: User) -> bool:
    """Lift the pause of ``category`` ("" for the pause of every category). False when it
    was not paused. The environment's AUTO_REMEDIATION_ENABLED still applies."""
    category = normalize_category(category)
    with transaction.atomic():
        pause = RemediationPause.objects.select_for_update().filter(category=category).first()
        if pause is None:
            return False
        scope, reason, paused_at = pause.scope, pause.reason, pause.paused_at
        pause.delete()
        audit(
            AuditAction.REMEDIATION_RESUMED,
            f"Auto-remediation resumed for {scope} by {user.get_username()}",
            acting_user=user,
            details={"category": category, "paused_for": reason},
        )
        # What waited for the pause goes on, after commit (by its dotted path: the policies
        # app imports nothing of remediation): approved requests run, tickets decided while
        # paused are decided again (docs/approvals.md, "Pause").
        async_task(
            RESUMED_TASK,
            category,
            paused_at.isoformat(),
            task_name=f"resumed {scope}"[:100],
        )
    return True
