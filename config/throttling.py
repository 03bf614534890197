"""Per-identity intake throttling: one token cannot flood the queue everyone shares.

A weight per request: a ticket costs 1, an Alertmanager batch costs its number of alerts
(at most the whole allowance, so a large batch still gets through once the window has
room). Over the rate: 429 in the API's error shape, with ``Retry-After``. The rate is
``THROTTLE_INTAKE_RATE`` (e.g. ``120/min``).

The count lives in the database every process shares (``remediation.tickets.models.IntakeCount``):
one row per identity, raised by one atomic statement (``INSERT … ON CONFLICT DO UPDATE SET n
= n + weight … RETURNING n``), committed on its own (the API runs in autocommit); a window
starts with the first request after the last one ended. The row lock serializes a concurrent
burst, so exactly the rate passes, whatever the number of workers or hosts. A request the
count refuses gives its weight back, so a refusal uses none of the window. Windows are fixed
(not sliding): across one window's end at most twice the rate passes; within one, exactly
it.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import connection
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from remediation.tickets.models import IntakeCount

_TABLE = IntakeCount._meta.db_table


def _count(identity: str, now: float, duration: int, weight: int) -> tuple[int, float]:
    """Add ``weight`` to the identity's count, in a new window when its last one ended,
    atomically (SET reads the row as it was); the count after and its window's start."""
    expired = f"{_TABLE}.window_start <= %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_TABLE} (identity, window_start, n) VALUES (%s, %s, %s) "  # noqa: S608
            "ON CONFLICT (identity) DO UPDATE SET "
            f"n = CASE WHEN {expired} THEN excluded.n ELSE {_TABLE}.n + excluded.n END, "
            f"window_start = CASE WHEN {expired} THEN excluded.window_start "
            f"ELSE {_TABLE}.window_start END "
            "RETURNING n, window_start",
            [identity, now, weight, now - duration, now - duration],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0]), float(row[1])


def _give_back(identity: str, window_start: float, weight: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET n = n - %s WHERE identity = %s AND window_start = %s",  # noqa: S608
            [weight, identity, window_start],
        )


class IntakeThrottle(SimpleRateThrottle):
    scope = "intake"
    num_requests: int | None
    duration: int | None

    def __init__(self) -> None:
        # No cache: the count is in the database (see the module's docstring).
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.window_end = 0.0

    def get_rate(self) -> str | None:
        # Read when the view is called, not when DRF was imported: a changed setting holds.
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        rate = rates.get(self.scope)
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None  # refused by authentication anyway
        return f"{self.scope}:{request.user.pk}"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        identity = self.get_cache_key(request, view)
        if identity is None:
            return True
        weigh = getattr(view, "throttle_weight", None)
        weight = int(weigh(request)) if callable(weigh) else 1
        weight = max(1, min(weight, self.num_requests))
        n, window_start = _count(identity, time.time(), self.duration, weight)
        self.window_end = window_start + self.duration
        if n > self.num_requests:
            _give_back(identity, window_start, weight)
            return False
        return True

    def wait(self) -> float | None:
        return max(1.0, self.window_end - time.time())
