"""Where a ticket POST's time goes against post.py's two references, in one process.

    python bench/post_inprocess.py [requests-per-side]

The three endpoints of ``bench/post.py`` (bare, by hand, the project's) through the whole
WSGI application (``config.wsgi``: every middleware, token authentication), DEBUG off,
against PostgreSQL (database ``bench_post``, made as post.py makes it), one request of each
in turn so that the machine's load falls on all three alike. Prints each side's median wall
time and mean CPU time of this process per request (the database's own work is in the
wall time only). Log lines are written, to /dev/null. No target: it says where post.py's
ratios come from.
"""

from __future__ import annotations

import io
import json
import logging
import os
import statistics
import sys
import time
import types
from typing import Any

import _common

DB = _common.db_name("post")
REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
SIDES = {"bare": "/bench/bare", "hand": "/bench/hand", "project": "/api/v1/tickets"}


def main() -> int:
    _common.ensure_empty_database(DB)
    _common.setup_django(DB)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.urls import path

    from bench.bare_urls import BareTicketApi, HandTicketApi
    from config.urls import urlpatterns
    from remediation.accounts.services import api_token_create

    call_command("migrate", verbosity=0)
    # The project's URLs and the two references beside them, in one URL configuration.
    urls = types.ModuleType("bench_post_inprocess_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path(SIDES["bare"].lstrip("/"), BareTicketApi.as_view()),
        path(SIDES["hand"].lstrip("/"), HandTicketApi.as_view()),
        *urlpatterns,
    ]
    sys.modules[urls.__name__] = urls
    settings.ROOT_URLCONF = urls.__name__
    _, token = api_token_create(
        user=get_user_model().objects.get(username="bench"), name="bench post inprocess", days=1
    )
    from config.wsgi import application

    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    count = [0]

    def post(url: str) -> None:
        count[0] += 1
        body = json.dumps(
            {
                "ticket_id": f"INPROC-{count[0]}-{time.time_ns()}",
                "title": "Service down on host-1",
                "description": "The web service on host-1 is not responding on port 8080.",
                "category": "server",
                "enable_auto_remediation": True,
            }
        ).encode()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": url,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": devnull,
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json",
            "HTTP_AUTHORIZATION": f"Token {token}",
        }
        answered: list[str] = []
        b"".join(application(environ, lambda status, headers, *_: answered.append(status)))
        if not answered[0].startswith("201"):
            raise SystemExit(f"{url} answered {answered[0]}")

    for url in SIDES.values():  # warm-up: imports, connections, cached fields
        for _ in range(30):
            post(url)
    wall: dict[str, list[float]] = {side: [] for side in SIDES}
    cpu: dict[str, list[float]] = {side: [] for side in SIDES}
    for _ in range(REQUESTS):
        for side, url in SIDES.items():
            started, used = time.perf_counter(), time.process_time()
            post(url)
            wall[side].append(time.perf_counter() - started)
            cpu[side].append(time.process_time() - used)
    for side in SIDES:
        print(
            f"{side:8s} wall median {statistics.median(wall[side]) * 1000:.2f} ms, "
            f"CPU mean {statistics.mean(cpu[side]) * 1000:.2f} ms per POST"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
