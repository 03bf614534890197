"""The analytics page, ``/stats/analytics/``: autonomy week by week, drawn as inline SVG on
the server (no script, nothing fetched), from the same numbers as the API."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from remediation.metrics.analytics import weeks
from remediation.metrics.api import DEFAULT_WEEKS, WeeksSerializer
from remediation.metrics.rules.charts import (
    HEIGHT,
    PAD,
    WIDTH,
    label_positions,
    polyline,
    stacked_bars,
)
from remediation.scoring.views import stats_readers_only

COLOURS = {
    "unattended": "#1f7a3d",
    "with_person": "#2c6cb0",
    "refused": "#a32020",
    "execution_success_rate": "#1f7a3d",
    "rollback_rate": "#a32020",
    "outcome_success_rate": "#6b4fa0",
    "unattended_seconds": "#1f7a3d",
    "person_seconds": "#2c6cb0",
    "latency": "#6b4fa0",
    "earned": "#1f7a3d",
    "lost": "#a32020",
}


def _lines(series: dict[str, list[float | None]]) -> dict[str, Any]:
    """Lines on a common scale from 0 to the highest value among them."""
    top = max((v for values in series.values() for v in values if v is not None), default=0)
    return {
        "top": top,
        "lines": [
            {"name": name, "points": polyline(values, top=top), "colour": COLOURS[name]}
            for name, values in series.items()
        ],
    }


@stats_readers_only
@require_http_methods(["GET", "HEAD"])
def analytics(request: HttpRequest) -> HttpResponse:
    query = WeeksSerializer(data=request.GET.dict())
    count = query.validated_data["weeks"] if query.is_valid() else DEFAULT_WEEKS
    rows = weeks(count)
    labels = [w.start[5:] for w in rows]  # MM-DD of each Monday
    decided, decided_top = stacked_bars(
        labels,
        {
            "unattended": [w.unattended for w in rows],
            "with_person": [w.with_person for w in rows],
            "refused": [w.refused for w in rows],
        },
    )
    patterns, patterns_top = stacked_bars(
        labels,
        {"earned": [w.patterns_earned for w in rows], "lost": [w.patterns_lost for w in rows]},
    )
    latency, latency_top = stacked_bars(
        labels, {"latency": [(w.approval_latency_seconds or 0) / 60 for w in rows]}
    )
    minutes = [
        [None if v is None else v / 60 for v in values]
        for values in (
            [w.resolve_seconds_unattended for w in rows],
            [w.resolve_seconds_person for w in rows],
        )
    ]
    charts = {
        # Rates on a 0-1 scale whatever their highest value.
        "rates": {
            "top": 1.0,
            "lines": [
                {"name": n, "points": polyline(v, top=1.0), "colour": COLOURS[n]}
                for n, v in (
                    ("execution_success_rate", [w.execution_success_rate for w in rows]),
                    ("rollback_rate", [w.rollback_rate for w in rows]),
                    ("outcome_success_rate", [w.outcome_success_rate for w in rows]),
                )
            ],
        },
        "resolve": _lines({"unattended_seconds": minutes[0], "person_seconds": minutes[1]}),
    }
    return render(
        request,
        "stats/analytics.html",
        {
            "rows": rows,
            "labels": labels,
            "ticks": label_positions(labels),
            "count": count,
            "errors": query.errors if not query.is_valid() else {},
            "width": WIDTH,
            "height": HEIGHT,
            "pad": PAD,
            "decided": decided,
            "decided_top": decided_top,
            "patterns": patterns,
            "patterns_top": patterns_top,
            "latency": latency,
            "latency_top": round(latency_top, 1),
            "charts": charts,
            "colours": COLOURS,
        },
    )
