"""Every answer under /api/ is JSON, errors included.

DRF views already answer errors in the ``config.errors`` shape. What reaches a client
without passing through a DRF view is turned into the same shape here: an unknown /api/
path (Django's 404 page), a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (refused with
413 before anything reads it), a body sent chunked that the server did not read (411), a
method Django itself refuses, and a server error page.

A chunked body (``Transfer-Encoding: chunked``, no ``Content-Length``) is read when the
WSGI server says the input stream ends with the body (``wsgi.input_terminated``, which
gunicorn sets): ``ChunkedBodyReader`` wraps the WSGI application (``config.wsgi``), reads at
most one byte more than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` and hands the body on with its
length, so the 413 above applies to it. A server that does not say so (``runserver``) would
hand Django the body as empty; such a request is refused with 411 instead.

Also here: django-prometheus' request metrics with a bounded ``method`` label (a method
outside HTTP's own is counted as ``other``, so invented methods add no series).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
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
    411: "length_required",
    413: "payload_too_large",
    500: "server_error",
}


def json_error(status: int, message: str | None = None) -> JsonResponse:
    code = _CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))
    return JsonResponse(
        {"error": {"code": code, "message": message or HTTPStatus(status).phrase + "."}},
        status=status,
    )


CHUNKED_NOT_READ = (
    "A chunked request body (Transfer-Encoding: chunked without Content-Length) was not "
    "read by the server; send Content-Length."
)
_READ_SIZE = 64 * 1024


def _chunked_without_length(environ: dict[str, Any]) -> bool:
    codings = environ.get("HTTP_TRANSFER_ENCODING", "")
    chunked = "chunked" in (c.strip().lower() for c in codings.split(","))
    return chunked and not environ.get("CONTENT_LENGTH")


def _read_at_most(stream: Any, limit: int | None) -> bytes:
    """Read a terminated stream to its end, or ``limit`` bytes if it is longer."""
    parts: list[bytes] = []
    size = 0
    while limit is None or size < limit:
        part = stream.read(_READ_SIZE if limit is None else min(_READ_SIZE, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


class ChunkedBodyReader:
    """WSGI middleware: a chunked body the server terminated is read here and passed on with
    its ``CONTENT_LENGTH`` (Django reads only up to a declared length, so would otherwise see
    an empty body). At most ``DATA_UPLOAD_MAX_MEMORY_SIZE + 1`` bytes are read: a longer body
    arrives with a length over the limit and is refused (413 under /api/, Django's own
    refusal elsewhere) without the rest being read."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("wsgi.input_terminated") and _chunked_without_length(environ):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            body = _read_at_most(environ["wsgi.input"], None if limit is None else limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse(api: bool, status: int, message: str) -> HttpResponse:
    if api:
        return json_error(status, message)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith(API_PREFIX)
        if _CONTROL.search(request.path):
            # No path of this project holds a control character; a NUL reaching a query
            # is a 500 on PostgreSQL (it cannot store one). Refused before any view runs.
            return _refuse(api, 404, "Not found.")
        if _chunked_without_length(request.META):
            # Django would read it as empty; every path refuses it, in JSON under /api/.
            if api:
                return json_error(411, CHUNKED_NOT_READ)
            return HttpResponse(CHUNKED_NOT_READ, status=411, content_type="text/plain")
        if not api:
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
