"""Every answer under /api/ is JSON, errors included.

DRF views already answer errors in the ``config.errors`` shape. What reaches a client
without passing through a DRF view is turned into the same shape here: an unknown /api/
path (Django's 404 page), a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (refused with
413 before anything reads it), a method Django itself refuses, and a server error page.

Also here: django-prometheus' request metrics with a bounded ``method`` label (a method
outside HTTP's own is counted as ``other``, so invented methods add no series).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_prometheus import middleware as prometheus_middleware

API_PREFIX = "/api/"

# The methods HTTP defines (RFC 9110 and PATCH); any other is labelled OTHER_METHOD.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
OTHER_METHOD = "other"

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    500: "server_error",
}


def json_error(status: int, message: str | None = None) -> JsonResponse:
    code = _CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))
    return JsonResponse(
        {"error": {"code": code, "message": message or HTTPStatus(status).phrase + "."}},
        status=status,
    )


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        length = _declared_length(request)
        if length is None:
            return json_error(400, "Content-Length is not a number.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return json_error(413, f"Request body larger than {limit} bytes.")
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and "json" not in content_type:
            return json_error(response.status_code)
        return response


class PrometheusAfterMiddleware(prometheus_middleware.PrometheusAfterMiddleware):
    """django-prometheus' per-request metrics, with one ``method`` label for every method
    outside ``KNOWN_METHODS``: a client cannot add series by inventing methods (the
    library's latency histogram otherwise labels with the raw method)."""

    def label_metric(
        self,
        metric: Any,
        request: HttpRequest,
        response: HttpResponse | None = None,
        **labels: str,
    ) -> Any:
        if "method" in labels and labels["method"] not in KNOWN_METHODS:
            labels["method"] = OTHER_METHOD
        return super().label_metric(metric, request, response, **labels)
