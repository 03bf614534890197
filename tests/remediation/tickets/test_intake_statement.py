"""The ticket intake's one statement on PostgreSQL (remediation.tickets.services): the same
rows as the ORM's inserts, atomic without a transaction block, and the pause it reads."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django_q.models import OrmQ

from policies.services import remediation_pause, remediation_resume
from remediation.audit.models import AuditAnchor, AuditEvent
from remediation.audit.services import verify_trail
from remediation.tickets import services
from remediation.tickets.models import Ticket
from tests.support.factories import UserFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement intake is PostgreSQL's"
)

URL = "/api/v1/tickets"
BODY = {
    "ticket_id": "INC-1",
    "title": "Service down",
    "description": "Web service not responding on port 8080",
    "category": "server",
    "enable_auto_remediation": True,
}


def _input(ticket_id: str) -> services.TicketInput:
    return services.TicketInput(
        ticket_id=ticket_id,
        title="Disk full on db-1",
        description="/var is at 100 %",
        category="Storage",
        enable_auto_remediation=True,
        severity="high",
        source="monitoring",
        alert_labels={"alertname": "DiskFull"},
    )


def _in_another_connection(work) -> None:
    """Run ``work`` on a thread of its own: its own database connection, committed there,
    as another worker process would."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not errors, errors


@pytest.mark.django_db
def test_the_statement_writes_the_rows_the_orm_writes(user):
    by_statement, pauses = services._insert_intake(_input("ONE-1"), user)
    by_rows = services._insert_intake_by_rows(_input("ROWS-1"), user)
    assert pauses == []

    def stored(ticket: Ticket) -> dict:
        row = model_to_dict(Ticket.objects.get(pk=ticket.pk))
        for name in ("id", "ticket_id"):
            row.pop(name)
        return row

    assert stored(by_statement) == stored(by_rows)
    assert stored(by_statement)["category"] == "storage"
    # The instance answered is the row stored, creation times included.
    again = Ticket.objects.get(pk=by_statement.pk)
    assert again.created_at == by_statement.created_at
    assert again.updated_at == by_statement.updated_at

    def event(ticket: Ticket) -> dict:
        row = model_to_dict(AuditEvent.objects.get(ticket=ticket))
        return {k: row[k] for k in ("action", "actor", "actor_label", "details", "prev_hash")}

    assert event(by_statement) == event(by_rows)
    assert AuditAnchor.objects.get(stream=f"ticket:{by_statement.pk}").length == 1
    tasks = {task.args(): task.name() for task in OrmQ.objects.all()}
    assert tasks == {(by_statement.pk,): "analyze ONE-1", (by_rows.pk,): "analyze ROWS-1"}
    assert {t.func() for t in OrmQ.objects.all()} == {"remediation.tasks.analyze_ticket"}
    assert list(verify_trail()) == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_post_is_one_atomic_statement(api):
    first = api.post(URL, BODY, format="json")
    assert first.status_code == 201, first.content
    ticket = Ticket.objects.get(ticket_id="INC-1")
    assert first.json() == api.get(f"{URL}/INC-1").json()
    assert [t.args() for t in OrmQ.objects.all()] == [(ticket.pk,)]
    assert list(verify_trail()) == []
    # A repeated ticket_id fails the statement: nothing of it stays (no second audit row,
    # anchor or task), and the answer names the field.
    again = api.post(URL, {**BODY, "title": "Other"}, format="json")
    assert again.status_code == 409
    assert "ticket_id" in again.json()["error"]["fields"]
    assert (Ticket.objects.count(), AuditEvent.objects.count()) == (1, 1)
    assert (AuditAnchor.objects.count(), OrmQ.objects.count()) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_pause_written_elsewhere_shows_in_the_next_answer(api):
    operator = UserFactory(username="carol")

    def post(ticket_id: str, category: str = "server") -> object:
        r = api.post(URL, {**BODY, "ticket_id": ticket_id, "category": category}, format="json")
        assert r.status_code == 201, r.content
        return r.json()["paused"]

    assert post("P-1") is None
    _in_another_connection(
        lambda: remediation_pause(category="SERVER", reason="maintenance", user=operator)
    )
    paused = post("P-2")
    assert paused["scope"] == "category server" and paused["by"] == "carol"
    assert paused["reason"] == "maintenance"
    assert post("P-3", category="network") is None
    # The pause of every category holds every ticket, and is the one named.
    _in_another_connection(lambda: remediation_pause(category="", reason="freeze", user=operator))
    assert post("P-4")["scope"] == "every category"
    assert post("P-5", category="network")["reason"] == "freeze"
    _in_another_connection(lambda: remediation_resume(category="", user=operator))
    assert post("P-6", category="network") is None
    _in_another_connection(lambda: remediation_resume(category="server", user=operator))
    assert post("P-7") is None
    # What the answer said is what a read of the ticket says now (no pause left).
    assert api.get(f"{URL}/P-2").json()["paused"] is None
