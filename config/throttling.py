"""Per-identity intake throttling: one token cannot flood the queue everyone shares.

DRF's ``SimpleRateThrottle``, keyed by the authenticated user, with a weight: a ticket costs
1, an Alertmanager batch costs its number of alerts (at most the whole allowance, so a
large batch still gets through once the window has room). Over the rate: 429 in the API's
error shape, with ``Retry-After``. The rate is ``THROTTLE_INTAKE_RATE`` (e.g. ``120/min``);
the counts live in the ``throttle`` cache (``THROTTLE_CACHE_URL``): per process by default,
shared across processes when pointed at a shared cache.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class IntakeThrottle(SimpleRateThrottle):
    scope = "intake"
    num_requests: int | None
    duration: int | None

    def __init__(self) -> None:
        super().__init__()
        self.cache = caches["throttle"]

    def get_rate(self) -> str | None:
        # Read when the view is called, not when DRF was imported: a changed setting holds.
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        rate = rates.get(self.scope)
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None  # refused by authentication anyway
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        weigh = getattr(view, "throttle_weight", None)
        weight = int(weigh(request)) if callable(weigh) else 1
        weight = max(1, min(weight, self.num_requests))
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) + weight > self.num_requests:
            return self.throttle_failure()
        self.history[:0] = [self.now] * weight
        self.cache.set(self.key, self.history, self.duration)
        return True
