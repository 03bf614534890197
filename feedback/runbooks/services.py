"""Learned runbooks: a trusted person's "what actually worked" becomes a proposal for the
ticket's pattern (docs/learning.md). Called by the feedback service
(``feedback.verdicts.services.feedback_submit``) inside its transaction."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from feedback.models import Feedback
from feedback.runbooks.rules import TEACHERS_TO_ACTIVATE, learned_operation
from remediation.analysis.models import Runbook, RunbookSource
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.tickets.models import Ticket


def runbook_learn_from_feedback(
    feedback: Feedback, *, ticket: Ticket, acting_user: User
) -> Runbook | None:
    """Turn a trusted person's "what actually worked" into a proposal for this pattern.

    Preconditions: ``feedback`` is trusted, inside its transaction. Only when it gives
    ``actual_resolution`` or ``actual_actions_taken``, the ticket has a pattern, and a
    catalogue operation can be named (``rules.learned_operation``). One learned runbook per
    (pattern, operation): it is created **disabled**; the same fix (operation and
    parameters) taught by ``TEACHERS_TO_ACTIVATE`` distinct trusted people enables it,
    otherwise an admin does after review. A different fix for the same operation is
    audited and not counted. Symptoms are the pattern's key terms.
    """
    if not feedback.actual_resolution and not feedback.actual_actions_taken:
        return None
    chosen = learned_operation(feedback.actual_actions_taken or [], ticket.suggested_actions or [])
    pattern = ticket.pattern
    if chosen is None or pattern is None:
        why = "the ticket has no pattern" if pattern is None else "no catalogue operation"
        audit(
            AuditAction.RUNBOOK_LEARNED,
            f"Nothing learned: {why} among the actions taken or suggested."
            if chosen is None
            else f"Nothing learned: {why}.",
            ticket=ticket,
            acting_user=acting_user,
            details={"feedback_id": feedback.pk, "learned": False},
        )
        return None
    operation, params, source = chosen
    runbook = (
        Runbook.objects.select_for_update()
        .filter(source=RunbookSource.FEEDBACK, pattern=pattern, operation=operation)
        .first()
    )
    created = False
    if runbook is None:
        terms = list(pattern.key_terms) or [ticket.title]
        resolution = feedback.actual_resolution or "What worked: " + "; ".join(
            item if isinstance(item, str) else str(item.get("action") or item.get("operation"))
            for item in feedback.actual_actions_taken
        )
        try:
            with transaction.atomic():
                runbook = Runbook.objects.create(
                    name=f"Learned {operation} for pattern {pattern.hash[:12]}",
                    operation=operation,
                    category=ticket.category,
                    pattern=pattern,
                    symptoms="\n".join(terms),
                    resolution=resolution,
                    params=params,
                    source=RunbookSource.FEEDBACK,
                    learned_from=ticket,
                    enabled=False,
                )
            created = True
        except IntegrityError:  # another teacher created it at the same moment
            runbook = Runbook.objects.select_for_update().get(
                source=RunbookSource.FEEDBACK, pattern=pattern, operation=operation
            )
    details: dict[str, Any] = {
        "feedback_id": feedback.pk,
        "runbook": runbook.name,
        "operation": operation,
        "params": params,
        "operation_from": source,
        "pattern": pattern.hash,
    }
    if not created and runbook.params != params:
        audit(
            AuditAction.RUNBOOK_LEARNED,
            f"Not counted toward {runbook.name!r}: a different fix ({operation} {params}) "
            f"than the one proposed ({runbook.params}).",
            ticket=ticket,
            acting_user=acting_user,
            details={**details, "learned": False, "proposed_params": runbook.params},
        )
        return runbook
    runbook.taught_by.add(acting_user)
    audit(
        AuditAction.RUNBOOK_LEARNED,
        f"Runbook {runbook.name!r} {'proposed' if created else 'taught again'}: {operation} "
        f"for pattern {pattern.signature}"
        + ("" if runbook.enabled else " (inactive until an admin enables it)"),
        ticket=ticket,
        acting_user=acting_user,
        details={**details, "learned": True, "created": created},
    )
    if not runbook.enabled:
        teachers = runbook.taught_by.count()
        if teachers >= TEACHERS_TO_ACTIVATE:
            runbook.enabled = True
            runbook.save(update_fields=["enabled", "updated_at"])
            audit(
                AuditAction.RUNBOOK_ACTIVATED,
                f"Runbook {runbook.name!r} enabled: the same fix was taught by {teachers} "
                "distinct trusted people.",
                ticket=ticket,
                acting_user=acting_user,
                details={**details, "teachers": teachers},
            )
    return runbook
