"""The calibration page: the reliability score, its calibrated probability and the AI
confidence against outcomes, with the reliability diagram drawn as inline SVG on the server
(no script, nothing fetched)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from config.api import PATTERN_STATS_PERMISSION
from remediation.scoring.api import CalibrationFilterSerializer
from remediation.scoring.rules import CalibrationReport
from remediation.scoring.selectors import (
    AI_CONFIDENCE,
    CALIBRATED,
    RELIABILITY,
    calibration_stats,
)

# The diagram's geometry, in SVG user units: a square plot with room for the axis labels.
PLOT = 300
MARGIN_LEFT = 48
MARGIN_TOP = 16
MARGIN_BOTTOM = 44
WIDTH = MARGIN_LEFT + PLOT + 16
HEIGHT = MARGIN_TOP + PLOT + MARGIN_BOTTOM
TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
FORM_VALUE_MAX = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SERIES = (
    (RELIABILITY, "Reliability score / 100", "#1f5fa8"),
    (CALIBRATED, "Calibrated probability", "#2e7d32"),
    (AI_CONFIDENCE, "AI confidence", "#b35c00"),
)


def _x(p: float) -> float:
    return round(MARGIN_LEFT + p * PLOT, 1)


def _y(p: float) -> float:
    return round(MARGIN_TOP + (1 - p) * PLOT, 1)


def diagram(reports: dict[str, CalibrationReport]) -> dict[str, Any]:
    """What the template draws: axes, the diagonal of perfect calibration, and per series a
    line through the non-empty bins (mean predicted, observed rate) with a point for each,
    its radius growing with the bin's count."""
    series = []
    for key, label, colour in SERIES:
        report = reports[key]
        largest = max((b.count for b in report.bins), default=0) or 1
        points = [
            {
                "x": _x(b.mean_predicted),
                "y": _y(b.observed_rate),
                "r": round(3 + 5 * (b.count / largest) ** 0.5, 1),
                "title": f"{label}: {b.lower:.1f}-{b.upper:.1f}, {b.count} ticket(s), "
                f"predicted {b.mean_predicted:.0%}, observed {b.observed_rate:.0%}",
            }
            for b in report.bins
            if b.count and b.mean_predicted is not None and b.observed_rate is not None
        ]
        series.append(
            {
                "key": key,
                "label": label,
                "colour": colour,
                "points": points,
                "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "plot": {
            "x0": _x(0),
            "x1": _x(1),
            "y0": _y(0),
            "y1": _y(1),
        },
        "ticks": [
            {
                "value": f"{t:.1f}",
                "x": _x(t),
                "y": _y(t),
                "label_x": _x(0) - 6,  # the y axis' labels, left of it
                "label_y": _y(0) + 16,  # the x axis' labels, below it
            }
            for t in TICKS
        ],
        "axis_label_y": _y(0) + 36,
        "axis_label_x": round(MARGIN_LEFT + PLOT / 2, 1),
        "axis_label_middle": round(MARGIN_TOP + PLOT / 2, 1),
        "series": series,
    }


def _form_values(request: HttpRequest) -> dict[str, str]:
    """The filters as typed, for the form (control characters dropped, length capped)."""
    return {
        name: _CONTROL.sub("", request.GET.get(name, ""))[:FORM_VALUE_MAX]
        for name in ("category", "analyzer", "days")
    }


def stats_readers_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first, then hold the statistics permission; checked before anything else
    about the request, the HTTP method included."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(PATTERN_STATS_PERMISSION):
            return render(request, "stats/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@stats_readers_only
@require_http_methods(["GET", "HEAD"])
def calibration(request: HttpRequest) -> HttpResponse:
    form = _form_values(request)
    filters = CalibrationFilterSerializer(data=request.GET.dict())
    if not filters.is_valid():
        return render(
            request,
            "stats/calibration.html",
            {
                "form": form,
                "errors": {
                    name[:FORM_VALUE_MAX]: [str(e) for e in errs]
                    for name, errs in filters.errors.items()
                },
            },
            status=400,
        )
    stats = calibration_stats(
        days=filters.validated_data["days"],
        category=filters.validated_data.get("category"),
        analyzer=filters.validated_data.get("analyzer"),
    )
    reports = {key: stats[key] for key, _, _ in SERIES}
    return render(
        request,
        "stats/calibration.html",
        {
            "form": {**form, "days": str(stats["days"])},
            "stats": stats,
            "diagram": diagram(reports),
            "series": [
                {"key": key, "label": label, "colour": colour, "report": reports[key]}
                for key, label, colour in SERIES
            ],
        },
    )
