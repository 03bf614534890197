"""verify_audit finds each kind of tampering, on PostgreSQL (where a trigger normally
refuses UPDATE and DELETE: the tamperer here is someone who can switch it off)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from remediation.audit.models import AuditAction, AuditEvent
from remediation.audit.services import audit
from tests.support.factories import TicketFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("tampering past the append-only trigger is a PostgreSQL scenario")


@pytest.fixture
def trail() -> list[int]:
    ticket = TicketFactory()
    ids = []
    with transaction.atomic():
        for n in range(5):
            ids.append(
                audit(AuditAction.STATUS_CHANGED, f"event {n}", ticket=ticket, details={"n": n}).pk
            )
    return ids


def tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE remediation_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE remediation_auditevent ENABLE TRIGGER USER")


def verify() -> str:
    try:
        call_command("verify_audit", stdout=(out := __import__("io").StringIO()))
    except CommandError:
        return out.getvalue()
    return ""


def test_an_intact_trail_verifies(trail, capsys):
    assert verify() == ""


def test_an_edited_row_is_found(trail):
    tamper(
        "UPDATE remediation_auditevent SET message = 'nothing happened' WHERE id = %s", [trail[2]]
    )
    report = verify()
    assert f"row {trail[2]}: content does not match its hash (edited)" in report


def test_a_deleted_row_is_found_at_the_row_after_it(trail):
    tamper("DELETE FROM remediation_auditevent WHERE id = %s", [trail[1]])
    assert f"row {trail[2]}: does not follow the previous row" in verify()


def test_an_inserted_row_is_found(trail):
    row = AuditEvent.objects.get(pk=trail[3])
    tamper(
        "INSERT INTO remediation_auditevent (ticket_id, actor_label, action, message, details,"
        " created_at, stream, prev_hash, hash) VALUES (%s, 'system', 'ticket.status_changed',"
        " 'forged', '{}', %s, %s, %s, %s)",
        [row.ticket_id, row.created_at, row.stream, row.hash, "f" * 64],
    )
    report = verify()
    assert "content does not match its hash (edited)" in report


def test_reordered_rows_are_found(trail):
    a, b = AuditEvent.objects.get(pk=trail[1]), AuditEvent.objects.get(pk=trail[2])
    tamper("UPDATE remediation_auditevent SET id = -1 WHERE id = %s", [a.pk])
    tamper("UPDATE remediation_auditevent SET id = %s WHERE id = %s", [a.pk, b.pk])
    tamper("UPDATE remediation_auditevent SET id = %s WHERE id = -1", [b.pk])
    report = verify()
    assert f"row {trail[1]}: does not follow the previous row" in report
