"""Reads for alert intake: the mapping rules."""

from __future__ import annotations

from remediation.alerts.models import AlertMapping
from remediation.alerts.rules import MappingRule


def alert_mapping_rules() -> list[MappingRule]:
    return [
        m.as_rule() for m in AlertMapping.objects.filter(enabled=True).order_by("priority", "name")
    ]
