"""GET /metrics: the design's metrics (read from the database) and this process' own metrics.

Two parts in one answer:
- ``datacenter_docs_*``: read from the database by ``remediation.metrics``, the same
  whichever web process answers;
- django-prometheus' request/database metrics and the process metrics of the process that
  answered (or, with ``PROMETHEUS_MULTIPROC_DIR`` set, of every gunicorn worker of this
  machine, aggregated by prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os

import prometheus_client
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import multiprocess

from remediation.metrics.collector import DatabaseCollector

database_registry = prometheus_client.CollectorRegistry(auto_describe=True)
database_registry.register(DatabaseCollector())


def _process_registry() -> prometheus_client.CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Open like /healthz (only /healthz, /metrics and the login page are; see
    docs/security.md): it names no ticket, user or host, only counts and averages."""
    body = prometheus_client.generate_latest(database_registry) + prometheus_client.generate_latest(
        _process_registry()
    )
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
