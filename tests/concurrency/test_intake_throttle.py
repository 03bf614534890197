"""A concurrent burst from one token against the intake rate: exactly the rate passes.

The probe saw 170 of a burst pass a 120/min rate: the count lived in each process's memory
and was read, then written. It is now one atomic statement on a row every process shares."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from remediation.accounts.models import ApiToken
from remediation.tickets.models import Ticket
from tests.support.factories import UserFactory

RATE = 12
BURST = 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_concurrent_burst_passes_exactly_the_rate(is_postgres, settings):
    if not is_postgres:
        pytest.skip("row locks under real concurrency need PostgreSQL")
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"intake": f"{RATE}/min"},
    }
    key = ApiToken.objects.create(user=UserFactory(username="burst"), name="burst")[1]
    barrier = threading.Barrier(BURST)
    statuses: list[int] = []
    lock = threading.Lock()

    def post(n: int) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        try:
            barrier.wait(timeout=20)
            r = client.post(
                "/api/v1/tickets",
                {
                    "ticket_id": f"INC-BURST-{n}",
                    "title": "Service down",
                    "description": "Web service not responding on port 8080",
                    "category": "server",
                    "affected_system": f"prod-web-{n:02d}",
                },
                format="json",
            )
            with lock:
                statuses.append(r.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(BURST)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert len(statuses) == BURST
    assert sorted(statuses) == [201] * RATE + [429] * (BURST - RATE), statuses
    assert Ticket.objects.count() == RATE
