"""manage.py recompute_patterns: rebuild every pattern statistic from tickets and feedback.

Lives in the feedback app (the top layer) because it counts feedback and writes the audit
trail, neither of which the patterns app may import.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from feedback.rebuild.services import patterns_recompute


class Command(BaseCommand):
    help = (
        "Rebuild every pattern's statistics from tickets and feedback with set-based "
        "queries, then re-evaluate eligibility (changes are audited)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int, total: int) -> None:
            self.stdout.write(f"  {done}/{total} patterns had stale numbers and were rewritten")

        self.stdout.write("Counting tickets and feedback per pattern...")
        summary = patterns_recompute(progress=progress)
        for change in summary.changes:
            verdict = "now eligible" if change.eligible else "no longer eligible"
            self.stdout.write(f"  {change.pattern.signature}: {verdict}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Recomputed {summary.patterns} pattern(s): {summary.eligible} eligible, "
                f"{len(summary.changes)} eligibility change(s)."
            )
        )
