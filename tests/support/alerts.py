"""Alertmanager webhook payloads as Alertmanager 0.2x sends them (version 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

URL = "/api/v1/alerts/alertmanager"
START = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def alert(
    *,
    status: str = "firing",
    alertname: str = "InstanceDown",
    instance: str = "prod-web-01:9100",
    severity: str = "critical",
    fingerprint: str = "5ef6c3f4a1b2c3d4",
    starts_at: datetime = START,
    ends_at: datetime | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": labels
        if labels is not None
        else {"alertname": alertname, "instance": instance, "job": "node", "severity": severity},
        "annotations": annotations
        if annotations is not None
        else {
            "summary": "Service down on the web server",
            "description": "Web service not responding: the node exporter target is down.",
        },
        "startsAt": starts_at.isoformat().replace("+00:00", "Z"),
        "endsAt": (
            ends_at.isoformat().replace("+00:00", "Z") if ends_at else "0001-01-01T00:00:00Z"
        ),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0",
        "fingerprint": fingerprint,
    }


def batch(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    return {
        "receiver": "auto-remediation",
        "status": status,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "InstanceDown"},
        "commonLabels": {"alertname": "InstanceDown"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="InstanceDown"}',
        "truncatedAlerts": 0,
    }


def copies(n: int, *, spread: timedelta = timedelta(milliseconds=600)) -> list[dict[str, Any]]:
    """n firings of one alert on one target, each with its own startsAt (a flapping alert)."""
    return [alert(starts_at=START + i * spread) for i in range(n)]
