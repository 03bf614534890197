"""django-q2 entry point of the calibration: thin, safe to run twice."""

from __future__ import annotations

from remediation.scoring import services


def refit_calibration() -> str:
    """Run by a django-q2 schedule (created by a data migration) every hour."""
    fit = services.calibration_refit(trigger="schedule")
    return f"calibration v{fit.version}" if fit is not None else "calibration unchanged"
