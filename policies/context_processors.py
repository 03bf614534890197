"""The pause banner of every page: while remediation (or a category) is paused, the base
template says who paused it, when, why and for what (one query per page)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from policies.selectors import pauses_in_force


def pause_banner(request: HttpRequest) -> dict[str, Any]:
    """``pauses``: the pauses in force (every category first), read when a template asks."""
    cached: list[Any] | None = None

    def pauses() -> list[Any]:
        nonlocal cached
        if cached is None:
            cached = pauses_in_force()
        return cached

    return {"pauses": pauses}
