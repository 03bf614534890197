"""Reads of patterns."""

from __future__ import annotations

from django.db.models import QuerySet

from patterns.models import Pattern
from patterns.rules.signature import normalize_category


def pattern_list(
    *, category: str | None = None, min_occurrences: int | None = None
) -> QuerySet[Pattern]:
    """Patterns, most frequent first, optionally of one category and seen at least N times."""
    qs = Pattern.objects.all()
    if category:
        # Categories are stored normalized (lowercase) by the signature.
        qs = qs.filter(category=normalize_category(category))
    if min_occurrences is not None:
        qs = qs.filter(occurrence_count__gte=min_occurrences)
    return qs.order_by("-occurrence_count", "id")


def pattern_count_eligible() -> int:
    return Pattern.objects.filter(eligible_for_auto_remediation=True, enabled=True).count()
