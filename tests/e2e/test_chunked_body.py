"""A chunked request body (Transfer-Encoding: chunked, no Content-Length) through the
production web server: gunicorn terminates the body, the application reads it within the
body limit (config.middleware.ChunkedBodyReader)."""

from __future__ import annotations

import http.client
import json

import pytest

from remediation.tickets.models import Ticket
from tests.support.dbutil import stop
from tests.support.factories import UserFactory
from tests.support.servers import gunicorn_port, production_env, start_gunicorn


def post_chunked(port: int, authorization: str, body: bytes) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        pieces = (body[i : i + 1000] for i in range(0, len(body), 1000))
        conn.request(
            "POST",
            "/api/v1/tickets",
            body=pieces,
            headers={
                "Authorization": authorization,
                "Content-Type": "application/json",
                "Transfer-Encoding": "chunked",
            },
            encode_chunked=True,
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_gunicorn_hands_a_chunked_body_to_the_api_and_the_limit_holds(
    tmp_path, is_postgres, settings, client_for
):
    if not is_postgres:
        pytest.skip("the production setup runs on PostgreSQL")
    # The token header tests/conftest.py's API clients send.
    token = client_for(UserFactory(username="chunked"))._credentials["HTTP_AUTHORIZATION"]
    log = tmp_path / "gunicorn.log"
    web = start_gunicorn(production_env(tmp_path), log=log)
    try:
        port = gunicorn_port(web, log)
        ticket = {"ticket_id": "CHUNK-E2E", "title": "Disk full", "description": "d" * 5000}
        status, body = post_chunked(
            port, token, json.dumps({**ticket, "category": "storage"}).encode()
        )
        assert status == 201, (body, log.read_text(errors="replace")[-3000:])
        assert Ticket.objects.get(ticket_id="CHUNK-E2E").description == "d" * 5000

        big = {**ticket, "ticket_id": "CHUNK-BIG", "category": "storage"}
        big["description"] = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
        status, body = post_chunked(port, token, json.dumps(big).encode())
        assert status == 413 and body["error"]["code"] == "payload_too_large"
        assert not Ticket.objects.filter(ticket_id="CHUNK-BIG").exists()
    finally:
        stop(web)
