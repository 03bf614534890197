"""Reads of runbooks: what the local analyzer may match a ticket against."""

from __future__ import annotations

from django.db.models import Q

from remediation.analysis.models import Runbook, RunbookSource

# Bounds on what the analyzer reads per ticket, whatever the table holds. Learned runbooks
# are unique per (pattern, operation), so one pattern has at most one per catalogue
# operation; shipped and admin-written runbooks are read in full up to this cap.
MAX_LEARNED_PER_PATTERN = 50
MAX_WRITTEN_RUNBOOKS = 2000


def learned_runbooks_for_pattern(pattern_hash: str) -> list[Runbook]:
    """Active runbooks learned from feedback on tickets of this pattern (sha256 hash).

    A learned runbook is a proposal scoped to the pattern that taught it: tickets of any
    other pattern never see it, and it counts only once enabled (by an admin, or by two
    distinct trusted teachers; see ``feedback.runbooks.services``). Its text came from a person's
    feedback and is untrusted wherever it is shown or given to an LLM.
    """
    if not pattern_hash:
        return []
    return list(
        Runbook.objects.filter(
            source=RunbookSource.FEEDBACK, enabled=True, pattern__hash=pattern_hash
        ).order_by("-id")[:MAX_LEARNED_PER_PATTERN]
    )


def written_runbooks_for_category(category: str) -> list[Runbook]:
    """Enabled shipped and admin-written runbooks for ``category`` (its own plus those for
    every category). Learned ones are never among them, so they cannot crowd these out."""
    return list(
        Runbook.objects.filter(enabled=True)
        .exclude(source=RunbookSource.FEEDBACK)
        .filter(Q(category="") | Q(category__iexact=category.strip()))
        .order_by("id")[:MAX_WRITTEN_RUNBOOKS]
    )
