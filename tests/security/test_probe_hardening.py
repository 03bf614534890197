"""Hardening found by an outside probe, each through the public interface."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import signals
from django.db import close_old_connections
from prometheus_client.parser import text_string_to_metric_families

from remediation.tickets.models import Ticket

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


# --- a chunked body (Transfer-Encoding: chunked, no Content-Length) ----------------------

TICKET = {"ticket_id": "CHUNK-1", "title": "Disk full", "description": "d", "category": "storage"}


def test_a_chunked_body_the_server_did_not_read_is_a_json_411(api):
    # Django's test client, like runserver, hands the application the raw stream: without
    # the server's word that the body ends (wsgi.input_terminated), it cannot be read.
    r = api.post(
        TICKETS,
        data=json.dumps(TICKET),
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert r.status_code == 411
    assert r.json()["error"]["code"] == "length_required"
    assert "chunked" in r.json()["error"]["message"]
    assert not Ticket.objects.exists()


@pytest.fixture
def wsgi_app():
    """The WSGI application gunicorn serves (config.wsgi), called as a server calls it."""
    from config.wsgi import application

    # As Django's test client does: the handler would close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def call_wsgi(app, body: bytes, api) -> tuple[int, dict]:
    """POST a de-chunked body as gunicorn hands it over: no CONTENT_LENGTH, the
    Transfer-Encoding header, and wsgi.input_terminated (the stream ends with the body)."""
    environ: dict = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": TICKETS,
        "SERVER_NAME": "testserver",
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        # The token header of the ``api`` client (tests/conftest.py).
        "HTTP_AUTHORIZATION": api._credentials["HTTP_AUTHORIZATION"],
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
    }
    setup_testing_defaults(environ)
    environ.pop("CONTENT_LENGTH", None)
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])

    content = b"".join(app(environ, start_response))
    return answer["status"], json.loads(content)


def test_a_chunked_body_the_server_terminated_is_read(wsgi_app, api):
    status, body = call_wsgi(wsgi_app, json.dumps(TICKET).encode(), api)
    assert status == 201, body
    assert Ticket.objects.get().title == "Disk full"


def test_a_terminated_chunked_body_over_the_limit_is_a_413(wsgi_app, api, settings):
    big = {**TICKET, "description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}
    status, body = call_wsgi(wsgi_app, json.dumps(big).encode(), api)
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert not Ticket.objects.exists()
