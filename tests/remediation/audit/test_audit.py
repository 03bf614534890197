"""The audit trail: append-only, written with each change, readable per ticket."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from remediation.audit.models import AuditAction, AuditEvent
from remediation.audit.services import audit
from remediation.tickets.models import Ticket
from tests.support.factories import UserFactory

URL = "/api/v1/tickets"
BODY = {
    "ticket_id": "INC-LOG-1",
    "title": "Service down",
    "description": "Web service not responding on port 8080",
    "category": "server",
    "affected_system": "prod-web-01",
}


@pytest.fixture
def event(user):
    with transaction.atomic():
        return audit(AuditAction.TICKET_CREATED, "created", acting_user=user)


@pytest.mark.django_db
class TestAppendOnly:
    def test_an_event_cannot_be_saved_again(self, event):
        event.message = "rewritten"
        with pytest.raises(TypeError, match="append-only"):
            event.save()

    def test_events_cannot_be_deleted_or_updated_in_bulk(self, event):
        with pytest.raises(TypeError):
            event.delete()
        with pytest.raises(TypeError):
            AuditEvent.objects.all().delete()
        with pytest.raises(TypeError):
            AuditEvent.objects.update(message="x")
        assert AuditEvent.objects.get().message == "created"

    def test_on_postgresql_the_database_refuses_raw_changes_too(self, event, is_postgres):
        table = AuditEvent._meta.db_table
        if is_postgres:
            for sql in (f"UPDATE {table} SET message = 'x'", f"DELETE FROM {table}"):
                with (
                    pytest.raises(DatabaseError, match="append-only"),
                    transaction.atomic(),
                    connection.cursor() as cursor,
                ):
                    cursor.execute(sql)
            assert AuditEvent.objects.get().message == "created"
        else:
            # SQLite (the quickstart database) has only the model guard.
            assert connection.vendor == "sqlite"


@pytest.mark.django_db(transaction=True)
def test_writing_an_event_outside_a_transaction_is_refused():
    # transaction=True: the test itself runs in autocommit, as a careless caller would.
    with pytest.raises(RuntimeError, match="transaction"):
        audit(AuditAction.TICKET_CREATED, "created")
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
class TestRemediationLogs:
    def test_it_lists_the_trail_oldest_first(self, seeded, api, drain_queue):
        api.post(URL, BODY, format="json")
        drain_queue()
        r = api.get(f"{URL}/INC-LOG-1/remediation-logs")
        assert r.status_code == 200
        actions = [e["action"] for e in r.json()["results"]]
        assert actions[0] == "ticket.created"
        assert "analysis.completed" in actions
        assert "decision.made" in actions
        assert r.json()["results"][0]["actor"] == "alice"
        assert r.json()["count"] == len(actions)

    def test_another_users_ticket_is_404(self, api, client_for):
        api.post(URL, BODY, format="json")
        stranger = client_for(UserFactory(username="mallory"))
        assert stranger.get(f"{URL}/INC-LOG-1/remediation-logs").status_code == 404

    def test_an_unknown_ticket_is_404(self, api):
        assert api.get(f"{URL}/NOPE/remediation-logs").status_code == 404

    def test_it_needs_authentication(self, anon):
        assert anon.get(f"{URL}/INC-LOG-1/remediation-logs").status_code in (401, 403)

    @pytest.mark.parametrize(
        ("param", "value"), [("page", "0"), ("page", "x"), ("page_size", "500"), ("x", "1")]
    )
    def test_bad_query_parameters_are_400(self, api, param, value):
        api.post(URL, BODY, format="json")
        r = api.get(f"{URL}/INC-LOG-1/remediation-logs", {param: value})
        assert r.status_code == 400
        assert param in r.json()["error"]["fields"]


@pytest.mark.django_db
class TestAdmin:
    @pytest.fixture
    def admin_client(self, client):
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
        return client

    def test_tickets_and_the_trail_are_shown_read_only(self, admin_client, api):
        api.post(URL, BODY, format="json")
        ticket = Ticket.objects.get()
        Ticket.objects.filter(pk=ticket.pk).update(diagnosis={"cause": "hung", "basis": "words"})
        assert admin_client.get("/admin/remediation/ticket/").status_code == 200
        page = admin_client.get(f"/admin/remediation/ticket/{ticket.pk}/change/")
        assert page.status_code == 200
        assert b"ticket.created" in page.content
        # Read only: no Save button, and the JSON fields indented, not one raw line.
        assert b'name="_save"' not in page.content
        assert b'<pre class="json"' in page.content
        r = admin_client.post(f"/admin/remediation/ticket/{ticket.pk}/change/", {"title": "x"})
        assert r.status_code == 403
        assert admin_client.get("/admin/remediation/ticket/add/").status_code == 403
        assert admin_client.get("/admin/remediation/auditevent/").status_code == 200
        event = AuditEvent.objects.get()
        r = admin_client.post(f"/admin/remediation/auditevent/{event.pk}/delete/", {"post": "yes"})
        assert r.status_code == 403
        assert AuditEvent.objects.count() == 1
