"""SVG chart geometry for the analytics page, pure: numbers in, shapes out (the template draws
them). Server-rendered charts: no library, no script, no build step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 180
PAD = 24  # room for the axis labels


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: str
    value: float
    label: str


def stacked_bars(
    labels: Sequence[str], series: dict[str, Sequence[float]], *, height: float = HEIGHT
) -> tuple[list[Rect], float]:
    """One bar per label, its series stacked bottom-up in the order given. Returns the
    rectangles and the tallest total (the scale's top)."""
    n = max(len(labels), 1)
    slot = (WIDTH - PAD) / n
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    rects: list[Rect] = []
    for i, label in enumerate(labels):
        y = height - PAD
        for name, values in series.items():
            h = (height - 2 * PAD) * values[i] / top
            y -= h
            if values[i]:
                rects.append(
                    Rect(PAD + i * slot + slot * 0.15, y, slot * 0.7, h, name, values[i], label)
                )
    return rects, max(totals, default=0)


def polyline(values: Sequence[float | None], *, top: float, height: float = HEIGHT) -> str:
    """SVG ``points`` of a line through the values (gaps where a value is None are skipped),
    on a scale from 0 to ``top``."""
    n = max(len(values), 1)
    slot = (WIDTH - PAD) / n
    top = top or 1
    points = [
        f"{PAD + i * slot + slot / 2:.1f},{height - PAD - (height - 2 * PAD) * v / top:.1f}"
        for i, v in enumerate(values)
        if v is not None
    ]
    return " ".join(points)


def label_positions(labels: Sequence[str]) -> list[tuple[float, str]]:
    """Where each label sits under its bar or point: (x, label)."""
    n = max(len(labels), 1)
    slot = (WIDTH - PAD) / n
    return [(round(PAD + i * slot + slot / 2, 1), label) for i, label in enumerate(labels)]
