"""What one token can do to the production web server (gunicorn with deploy/gunicorn.conf.py,
sync workers): slow bodies do not stall it, and a burst spread over its workers passes
exactly the intake rate."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from remediation.tickets.models import Ticket
from tests.support.dbutil import stop
from tests.support.factories import UserFactory
from tests.support.servers import gunicorn_port, production_env, start_gunicorn

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def slow_body(port: int, token: str, answers: list[bytes], stop_sending: threading.Event) -> None:
    """Declare a 1000-byte body and send one byte every 0.3 s, until answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: {token}\r\n".encode()
            + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        sock.settimeout(0.3)
        received = b""
        for _ in range(200):
            if stop_sending.is_set():
                break
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                try:
                    sock.sendall(b" ")
                except OSError:
                    break
                continue
            if not chunk:
                break
            received += chunk
            if b"\r\n\r\n" in received:
                break
        answers.append(received)


def test_slow_bodies_do_not_stall_the_web_server(tmp_path, is_postgres, client_for):
    """The probe: eight slow-body connections from one token held every sync worker for
    about 30 s (gunicorn's timeout). Each body now has REQUEST_BODY_TIMEOUT in all: the
    slow ones are answered 408 and the one worker answers a normal request after them."""
    if not is_postgres:
        pytest.skip("the production setup runs on PostgreSQL")
    token = client_for(UserFactory(username="slow"))._credentials["HTTP_AUTHORIZATION"]
    log = tmp_path / "gunicorn.log"
    web = start_gunicorn(production_env(tmp_path, REQUEST_BODY_TIMEOUT="2"), log=log)
    done = threading.Event()
    try:
        port = gunicorn_port(web, log)
        answers: list[bytes] = []
        slow = [
            threading.Thread(target=slow_body, args=(port, token, answers, done)) for _ in range(3)
        ]
        for t in slow:
            t.start()
        time.sleep(0.5)  # the slow connections are in before the normal request
        # Before the bound, the one worker waited on the first slow body until gunicorn's
        # 30 s timeout killed it, and this request timed out behind the other two.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=25) as r:
            assert r.status == 200, log.read_text(errors="replace")[-3000:]
        for t in slow:
            t.join(timeout=30)
        assert len(answers) == 3
        for answer in answers:
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert not Ticket.objects.exists()
        assert "request body not received within 2.0s" in log.read_text(errors="replace")
    finally:
        done.set()
        stop(web)


def test_a_burst_across_gunicorn_workers_passes_exactly_the_rate(tmp_path, is_postgres, client_for):
    """The probe: 170 of a concurrent burst passed a 120/min rate when each worker counted
    in its own memory. The count is now one row in the database every worker shares."""
    if not is_postgres:
        pytest.skip("the production setup runs on PostgreSQL")
    rate, burst, workers = 12, 36, 3
    token = client_for(UserFactory(username="burst"))._credentials["HTTP_AUTHORIZATION"]
    log = tmp_path / "gunicorn.log"
    env = production_env(tmp_path, THROTTLE_INTAKE_RATE=f"{rate}/min")
    web = start_gunicorn(env, log=log, workers=workers)
    try:
        port = gunicorn_port(web, log, workers=workers)
        barrier = threading.Barrier(burst)
        statuses: list[int] = []
        lock = threading.Lock()

        def post(n: int) -> None:
            body = {
                "ticket_id": f"INC-BURST-{n}",
                "title": "Service down",
                "description": "Web service not responding on port 8080",
                "category": "server",
                "affected_system": f"prod-web-{n:02d}",
            }
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/tickets",
                data=json.dumps(body).encode(),
                headers={"Authorization": token, "Content-Type": "application/json"},
            )
            barrier.wait(timeout=30)
            try:
                with urllib.request.urlopen(request, timeout=60) as r:
                    code = r.status
            except urllib.error.HTTPError as exc:
                code = exc.code
            with lock:
                statuses.append(code)

        threads = [threading.Thread(target=post, args=(n,)) for n in range(burst)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert sorted(statuses) == [201] * rate + [429] * (burst - rate), (
            statuses,
            log.read_text(errors="replace")[-3000:],
        )
        assert Ticket.objects.count() == rate
    finally:
        stop(web)
