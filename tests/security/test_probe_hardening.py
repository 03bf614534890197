"""Hardening found by an outside probe, each through the public interface."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets"
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}


def method_labels(client) -> set[str]:
    """Every value of a ``method`` label on /metrics (open, like /healthz)."""
    r = client.get("/metrics")
    assert r.status_code == 200
    return {
        s.labels["method"]
        for family in text_string_to_metric_families(r.content.decode())
        for s in family.samples
        if "method" in s.labels
    }


def test_invented_http_methods_share_one_metrics_label(api, anon):
    def invent(first: int, count: int) -> None:
        for n in range(first, first + count):
            r = api.generic(f"FOO{n}", TICKETS)
            assert r.status_code == 405

    invent(0, 5)
    after_few = method_labels(anon)
    invent(5, 150)
    after_many = method_labels(anon)
    assert after_many == after_few  # the label set does not grow with the number of methods
    assert not {m for m in after_many if m.startswith("FOO")}
    assert after_many <= KNOWN_METHODS | {"other"}
    assert "other" in after_many
