"""Ticket POST throughput against two references on the same stack, side by side.

    python bench/post.py [seconds-per-phase]

Starts two gunicorn servers (2 sync workers each, DEBUG off, PostgreSQL database
bench_post, persistent connections as configured): the project, and the same settings with
two reference endpoints (bench/bare_urls.py): *bare* (token auth + the same body
validation, no writes) and *hand* (the same, then the same durable work as the project's
POST written by hand: ticket row, audit row with its anchor, task row, in one
transaction). Client threads POST valid tickets to each in turn (bare, hand, project, twice)
and the ratios of requests per second are printed. Targets: project/hand >= 0.7,
project/bare >= 0.5.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _common

DB = _common.db_name("post")
PHASE = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# Extra gunicorn options for both servers, e.g. "--worker-class gthread --threads 4".
EXTRA = os.environ.get("BENCH_GUNICORN_ARGS", "").split()


def start_server(settings: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn on a free port; its output goes to ``log``, not through this process (the
    clients' process must not spend its time reading one side's log lines)."""
    env = {
        **os.environ,
        "DATABASE_URL": _common.db_url(DB),
        "DJANGO_SETTINGS_MODULE": settings,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-not-secret-" + "x" * 40),
    }
    port = _common.free_port()
    proc = subprocess.Popen(
        [
            GUNICORN,
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "info",
            "--timeout",
            "120",
            *EXTRA,
            "config.wsgi",
        ],
        cwd=_common.ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn ({settings}) exited; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn ({settings}) did not start; see {log}")


def load(port: int, token: str, seconds: float, prefix: str, url: str) -> float:
    """Requests per second answered 201 by ``CLIENTS`` threads in ``seconds``."""
    done = [0] * CLIENTS
    errors: list[str] = []
    stop = time.perf_counter() + seconds

    def client(n: int) -> None:
        i = 0
        while time.perf_counter() < stop:
            i += 1
            body = json.dumps(
                {
                    "ticket_id": f"{prefix}-{n}-{i}-{time.time_ns()}",
                    "title": "Service down on host-1",
                    "description": "The web service on host-1 is not responding on port 8080.",
                    "category": "server",
                    "enable_auto_remediation": True,
                }
            )
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                conn.request(
                    "POST",
                    url,
                    body,
                    {"Content-Type": "application/json", "Authorization": f"Token {token}"},
                )
                response = conn.getresponse()
                response.read()
            except OSError as exc:
                errors.append(type(exc).__name__)
                continue
            finally:
                conn.close()
            if response.status == 201:
                done[n] += 1
            else:
                errors.append(str(response.status))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print(f"  {prefix}: {len(errors)} failed requests, e.g. {errors[:5]}")
    return sum(done) / (time.perf_counter() - start)


def main() -> int:
    _common.ensure_empty_database(DB)
    _common.setup_django(DB)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from remediation.accounts.services import api_token_create

    call_command("migrate", verbosity=0)  # a database kept from an earlier run
    # Keys are stored hashed: each run makes its own token (valid for a day).
    _, token = api_token_create(
        user=get_user_model().objects.get(username="bench"), name="bench post", days=1
    )
    logs = Path(tempfile.mkdtemp(prefix="bench-post-"))
    servers = {
        name: start_server(settings, logs / f"{name}.log")
        for name, settings in (("bare", "bench.bare_settings"), ("project", "config.settings"))
    }
    # (side, server, URL), measured in this order, twice.
    sides = [
        ("bare", "bare", "/api/v1/tickets"),
        ("hand", "bare", "/api/v1/tickets-by-hand"),
        ("project", "project", "/api/v1/tickets"),
    ]
    try:
        rates: dict[str, list[float]] = {side: [] for side, _, _ in sides}
        for side, server, url in sides:  # warm-up: imports, connections
            load(servers[server][1], token, 1.0, f"warm-{side}", url)
        for round_ in range(2):
            for side, server, url in sides:
                rates[side].append(load(servers[server][1], token, PHASE, f"{side}{round_}", url))
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _ in servers.values():
            proc.wait(timeout=30)
    bare, hand, project = (sum(rates[side]) / 2 for side in ("bare", "hand", "project"))
    print(
        f"POST /api/v1/tickets: bare DRF {bare:.0f} req/s, by hand {hand:.0f} req/s, "
        f"project {project:.0f} req/s ({CLIENTS} clients, 2 gunicorn workers each)"
    )
    failed = _common.verdict("POST project/hand", project / hand, ">= 0.7", project / hand >= 0.7)
    return failed | _common.verdict(
        "POST project/bare", project / bare, ">= 0.5", project / bare >= 0.5
    )


if __name__ == "__main__":
    sys.exit(main())
