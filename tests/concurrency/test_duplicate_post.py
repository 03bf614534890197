"""Two integrations POST the same ticket_id at the same instant: one 201, the rest 409."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_q.models import OrmQ
from rest_framework.test import APIClient

from remediation.accounts.models import ApiToken
from remediation.audit.models import AuditEvent
from remediation.tickets.models import Ticket
from tests.support.factories import UserFactory

BODY = {
    "ticket_id": "INC-RACE",
    "title": "Service down",
    "description": "Web service not responding on port 8080",
    "category": "server",
}


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_posts_create_exactly_one_ticket():
    users = [UserFactory(username=f"integration{i}") for i in range(6)]
    tokens = [ApiToken.objects.create(user=u, name="integration")[1] for u in users]
    barrier = threading.Barrier(len(tokens))
    statuses: list[int] = []
    lock = threading.Lock()

    def post(key: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        try:
            barrier.wait(timeout=10)
            r = client.post("/api/v1/tickets", BODY, format="json")
            with lock:
                statuses.append(r.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(k,)) for k in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(statuses) == [201] + [409] * (len(tokens) - 1)
    assert Ticket.objects.filter(ticket_id="INC-RACE").count() == 1
    # The losers' transactions rolled back whole: one audit event, one queued analysis.
    assert AuditEvent.objects.count() == 1
    assert OrmQ.objects.count() == 1
