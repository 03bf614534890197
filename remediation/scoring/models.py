"""The stored calibration fit: one row per version, written only when the fit changes.

Scoring and the decision read the newest row (one indexed read, cached per version), never
the ticket history: fitting scans the history, on a schedule and on ``recompute_patterns``.
"""

from __future__ import annotations

from django.db import models


class CalibrationFit(models.Model):
    version = models.PositiveIntegerField(unique=True)
    fitted_at = models.DateTimeField()
    trigger = models.CharField(
        max_length=40, help_text="What refitted it: schedule, recompute_patterns, command."
    )
    window_days = models.PositiveIntegerField()
    parameters = models.JSONField(
        help_text="The fitted maps (estate and per category: method, knots) and the priors "
        "(success and failure counts per operation and per cause and operation)."
    )
    counts = models.JSONField(help_text="Concluded tickets behind the fit, per category.")

    class Meta:
        ordering = ("-version",)

    def __str__(self) -> str:
        return f"calibration v{self.version} ({self.fitted_at:%Y-%m-%d %H:%M})"
