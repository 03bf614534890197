"""The rebuild of every pattern statistic from tickets and feedback (``manage.py
recompute_patterns``, and the data migrations that re-key patterns).

Lives in the feedback app, the top of the journey, because it counts feedback, which
``patterns`` may not import; the statistics themselves change only through
``patterns.services.pattern_rebuild``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from feedback.rebuild.selectors import pattern_totals
from patterns import services as pattern_services
from patterns.models import Pattern
from patterns.services import EligibilityChange
from remediation.scoring.services import calibration_refit


@dataclass(frozen=True)
class RecomputeSummary:
    patterns: int
    eligible: int
    changes: list[EligibilityChange]


def patterns_recompute(
    *, progress: Callable[[int, int], None] | None = None, refit_calibration: bool = True
) -> RecomputeSummary:
    """Rebuild every pattern statistic from tickets and feedback, then settle eligibility.

    Gives the same numbers as the incremental updates: one occurrence and its confidence
    per ticket linked to the pattern, outcomes and reliability as stored on the tickets,
    feedback by type, a remediation attempt per concluded ticket whose actions ran, and
    each ticket's shadow agreement verdict on the pattern it was counted on.
    First/last seen are observation times, not derived from tickets, and are kept.
    Pattern rows are locked before counting, so an update racing the rebuild waits for it
    and then applies on top of the rebuilt numbers. The calibration and its priors are
    refitted after it (a new version only when they changed) unless ``refit_calibration``
    is False (the benchmark times the two apart).
    """
    with transaction.atomic():
        pattern_services.lock_all_patterns()
        changes = pattern_services.pattern_rebuild(pattern_totals(), progress=progress)
        eligible = Pattern.objects.filter(eligible_for_auto_remediation=True).count()
        total = Pattern.objects.count()
    if refit_calibration:
        calibration_refit(trigger="recompute_patterns")
    return RecomputeSummary(patterns=total, eligible=eligible, changes=changes)
