"""The ticket list at 1k vs 1M tickets, unfiltered and filtered by category + status.

    python bench/ticket_list.py          # bench_small vs bench_large (bench/generate.py)

Each round GETs the first page (50 tickets) and the second (its ``next`` cursor) through
the real API stack in-process (token auth, DRF, the keyset paginator), alternating the
two databases. Prints the median time per page of each and the ratio large/small.
Target: <= 1.5, filtered or not.
"""

from __future__ import annotations

import sys
import time

import _common
from _dbswitch import use_db

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
SMALL_DB, LARGE_DB = _common.SMALL_DB, _common.LARGE_DB
QUERIES = {
    "unfiltered": {},
    "category+status": {"category": "cache", "status": "resolved"},
}


def pages(client, params: dict[str, str]) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    first = client.get("/api/v1/tickets", params)
    assert first.status_code == 200, first.content[:300]
    body = first.json()
    assert len(body["results"]) == 50, len(body["results"])
    second = client.get(body["next"])
    assert second.status_code == 200
    return (time.perf_counter() - start) / 2


def main() -> int:
    _common.setup_django(SMALL_DB)
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from remediation.accounts.services import api_token_create

    clients = {}
    for db in (SMALL_DB, LARGE_DB):
        use_db(db)
        client = APIClient(SERVER_NAME="localhost")
        # Keys are stored hashed: each run makes its own token (valid for a day).
        bench_user = get_user_model().objects.get(username="bench")
        _, key = api_token_create(user=bench_user, name="bench ticket list", days=1)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        clients[db] = client
    failed = 0
    for label, params in QUERIES.items():
        times: dict[str, list[float]] = {SMALL_DB: [], LARGE_DB: []}
        for db in (SMALL_DB, LARGE_DB):
            use_db(db)
            pages(clients[db], params)  # warm-up
        for _ in range(ROUNDS):
            for db in (SMALL_DB, LARGE_DB):
                use_db(db)
                times[db].append(pages(clients[db], params))
        small, large = _common.median(times[SMALL_DB]), _common.median(times[LARGE_DB])
        print(
            f"{label}: {SMALL_DB} {small * 1000:.1f} ms/page, {LARGE_DB} {large * 1000:.1f} ms/page"
        )
        failed |= _common.verdict(
            f"list {label} large/small", large / small, "<= 1.5", large / small <= 1.5
        )
    return failed


if __name__ == "__main__":
    sys.exit(main())
