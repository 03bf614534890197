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

A slow body is bounded: ``BodyDeadline`` (outermost in ``config.wsgi``) reads a request's
body, when the server gives the client's socket (gunicorn's ``gunicorn.socket``), within
``REQUEST_BODY_TIMEOUT`` seconds in all, however it trickles in; past that the answer is
408 and the worker is free again. A sync worker would otherwise wait on one byte at a time
until gunicorn's ``timeout`` killed it (docs/security.md).

Also here: django-prometheus' request metrics with a bounded ``method`` label (a method
outside HTTP's own is counted as ``other``, so invented methods add no series).
"""

from __future__ import annotations

import io
import logging
import re
import time
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
    408: "request_timeout",
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


logger = logging.getLogger(__name__)

BODY_TOO_SLOW = "The request body did not arrive in time."


class _BodyTooSlow(Exception):
    pass


def _has_body(environ: dict[str, Any]) -> bool:
    if _chunked_without_length(environ):
        return True
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


class _DeadlineSocket:
    """The client's socket as gunicorn's body reader sees it: each ``recv`` waits at most
    the time left before the deadline, so a body trickling in one byte at a time cannot
    stretch the whole read past it (gunicorn's reader loops over ``recv`` until it has the
    size it was asked for)."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def recv(self, size: int) -> bytes:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise _BodyTooSlow
        self._sock.settimeout(left)
        try:
            data: bytes = self._sock.recv(size)
        except TimeoutError:
            raise _BodyTooSlow from None
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _read_by(stream: Any, sock: Any, count: int | None, deadline: float) -> bytes:
    """Read ``count`` bytes (to the end when None) of ``stream``, whose bytes come from
    ``sock``, before ``deadline`` (time.monotonic()). gunicorn's body reader reads through
    its ``unreader``'s socket: that socket is bounded by the deadline for the read."""
    unreader: Any = getattr(getattr(stream, "reader", None), "unreader", None)
    bounded = unreader is not None and getattr(unreader, "sock", None) is sock
    if bounded:
        unreader.sock = _DeadlineSocket(sock, deadline)
    parts: list[bytes] = []
    size = 0
    try:
        while count is None or size < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _BodyTooSlow
            sock.settimeout(left)
            try:
                want = _READ_SIZE if count is None else min(_READ_SIZE, count - size)
                part = stream.read(want)
            except TimeoutError:
                raise _BodyTooSlow from None
            if not part:
                break
            parts.append(part)
            size += len(part)
    finally:
        if bounded:
            unreader.sock = sock
    return b"".join(parts)


class BodyDeadline:
    """WSGI middleware: a request body is read within ``REQUEST_BODY_TIMEOUT`` seconds in
    all, or answered 408 (``Connection: close``). At most ``DATA_UPLOAD_MAX_MEMORY_SIZE + 1``
    bytes are read here (the limits after it then apply as before); a longer declared body
    is left to them (the API refuses it by its length, without reading it). Only with a
    server that hands over the client's socket (gunicorn); otherwise it steps aside."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        timeout = settings.REQUEST_BODY_TIMEOUT
        if sock is None or not timeout or not _has_body(environ):
            return self.app(environ, start_response)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        cap = None if limit is None else limit + 1
        chunked = _chunked_without_length(environ)
        if chunked and not environ.get("wsgi.input_terminated"):
            return self.app(environ, start_response)  # refused with 411 without reading
        declared = None if chunked else int(environ["CONTENT_LENGTH"])
        if declared is not None and cap is not None and declared > cap:
            return self.app(environ, start_response)  # refused by its length, unread
        before = sock.gettimeout()
        try:
            count = declared if declared is not None else cap
            body = _read_by(environ["wsgi.input"], sock, count, time.monotonic() + timeout)
        except (_BodyTooSlow, OSError):
            logger.warning(
                "request body not received within %ss: %s %s",
                timeout,
                environ.get("REQUEST_METHOD"),
                str(environ.get("PATH_INFO", ""))[:200],
            )
            return _too_slow(environ, start_response)
        finally:
            sock.settimeout(before)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


def _too_slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    api = str(environ.get("PATH_INFO", "")).startswith(API_PREFIX)
    if api:
        body = json_error(408, BODY_TOO_SLOW).content
        kind = "application/json"
    else:
        body, kind = BODY_TOO_SLOW.encode(), "text/plain; charset=utf-8"
    start_response(
        "408 Request Timeout",
        [("Content-Type", kind), ("Content-Length", str(len(body))), ("Connection", "close")],
    )
    return [body]


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
