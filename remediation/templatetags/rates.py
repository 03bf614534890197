"""``{{ value|rate }}``: a rate (0-1) as "67%", or "no data" for None (``remediation.rules``)."""

from __future__ import annotations

from django import template

from remediation.rules import percent

register = template.Library()


@register.filter
def rate(value: float | None) -> str:
    return percent(value)
