"""An alert storm on PostgreSQL: 20 Alertmanager deliveries of the same batch, each holding
100 firings of one alert over a minute, arrive at once. One ticket, one analysis (so at most
one remediation), and every firing and delivery counted."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.models import Sum
from django_q.models import OrmQ
from rest_framework.test import APIClient

from remediation.accounts.models import ApiToken
from remediation.alerts.models import AlertMapping, AlertRecord
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketRepeat
from tests.support.alerts import URL, batch, copies
from tests.support.factories import UserFactory
from tests.support.queue import drain

DELIVERIES = 20
COPIES = 100


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_alert_storm_makes_one_ticket_and_counts_every_repeat(seeded, is_postgres, settings):
    if not is_postgres:
        pytest.skip("row locks under real concurrency need PostgreSQL")
    # About storm control under concurrency, not the intake rate (tests/security).
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"intake": None},
    }
    # The tickets may remediate on their own: the storm must still start only one.
    AlertMapping.objects.update(enable_auto_remediation=True)
    alertmanager = UserFactory(username="alertmanager")
    _, key = ApiToken.objects.create(user=alertmanager, name="alertmanager")
    body = batch(*copies(COPIES))  # startsAt spread over 60 s
    barrier = threading.Barrier(DELIVERIES)
    answers: list[tuple[int | str, list[str]]] = []
    lock = threading.Lock()

    def deliver() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        try:
            barrier.wait(timeout=30)
            r = client.post(URL, body, format="json")
            outcomes = [x["outcome"] for x in r.json()["results"]] if r.status_code == 200 else []
            with lock:
                answers.append((r.status_code, outcomes))
        except Exception as exc:  # shown by the assertion below, not lost in a thread
            with lock:
                answers.append((repr(exc)[:500], []))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(DELIVERIES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)

    assert [code for code, _ in answers] == [200] * DELIVERIES
    every = [o for _, outcomes in answers for o in outcomes]
    # Each firing was new to exactly one delivery; the other 19 saw a duplicate.
    assert every.count("created") == 1
    assert every.count("joined") == COPIES - 1
    assert every.count("duplicate") == (DELIVERIES - 1) * COPIES

    ticket = Ticket.objects.get()
    assert ticket.auto_remediation_enabled is True
    assert ticket.repeat_count == COPIES - 1
    assert TicketRepeat.objects.filter(ticket=ticket).count() == COPIES - 1
    assert AlertRecord.objects.filter(ticket=ticket).count() == COPIES
    assert AlertRecord.objects.aggregate(n=Sum("deliveries"))["n"] == DELIVERIES * COPIES
    assert AuditEvent.objects.filter(action=AuditAction.TICKET_CREATED).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.REPEAT_JOINED).count() == COPIES - 1
    assert OrmQ.objects.count() == 1

    drain()
    # One analysis, one decision: whatever it allowed, it can have started at most once.
    assert Ticket.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.DECISION_MADE).count() <= 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_integration_resending_one_incident_at_once_makes_one_ticket(is_postgres):
    """Six concurrent submissions of one incident by one integration (its six workers, each
    with a token of its own): one ticket, five repeats. Another integration's submissions
    never join it (tests/remediation/tickets/test_storm_control.py)."""
    if not is_postgres:
        pytest.skip("row locks under real concurrency need PostgreSQL")
    integration = UserFactory(username="integration", is_staff=True)
    keys = [ApiToken.objects.create(user=integration, name=f"worker {i}")[1] for i in range(6)]
    barrier = threading.Barrier(len(keys))
    answers: list[tuple[int | str, str]] = []
    lock = threading.Lock()

    def post(n: int, key: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        try:
            barrier.wait(timeout=30)
            r = client.post(
                "/api/v1/tickets",
                {
                    "ticket_id": f"INC-STORM-{n}",
                    "title": "Service down",
                    "description": "Web service not responding on port 8080",
                    "category": "server",
                    "affected_system": "prod-web-01",
                },
                format="json",
            )
            with lock:
                answers.append((r.status_code, r.json()["ticket_id"]))
        except Exception as exc:
            with lock:
                answers.append((repr(exc)[:500], ""))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n, k)) for n, k in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert sorted(str(code) for code, _ in answers) == ["200"] * 5 + ["201"]
    ticket = Ticket.objects.get()
    # Every answer names the one ticket: the 201 created it, the 200s joined it.
    assert {tid for _, tid in answers} == {ticket.ticket_id}
    assert ticket.repeat_count == 5
    assert OrmQ.objects.count() == 1
