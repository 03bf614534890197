"""README "Running in production": the app's role cannot TRUNCATE or ALTER the audit table,
delete its anchors or change its seals.

Sets up the documented role (docs/sql/app_role.sql, run as the owner that migrated) inside
the test transaction and acts as it with SET ROLE.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from remediation.audit.models import AuditAction, AuditEvent
from remediation.audit.services import audit, audit_seal

SQL = Path(__file__).resolve().parents[2] / "docs" / "sql" / "app_role.sql"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def app_role():
    if connection.vendor != "postgresql":
        pytest.skip("database roles are a PostgreSQL feature")
    name = f"remediation_app_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide
    with connection.cursor() as cursor:
        lines = [ln for ln in SQL.read_text().splitlines() if not ln.strip().startswith("--")]
        for statement in "\n".join(lines).split(";"):
            if statement.strip():
                cursor.execute(statement.replace("remediation_app", name))
    yield name
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def refused(sql: str) -> str:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    except DatabaseError as exc:
        return str(exc)
    raise AssertionError(f"{sql!r} was allowed")


def test_the_app_role_appends_and_reads_but_cannot_truncate_alter_or_rewrite(app_role):
    with transaction.atomic():
        audit(AuditAction.CONFIG_CHANGED, "before", details={})
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {app_role}")
    with transaction.atomic():
        audit(AuditAction.CONFIG_CHANGED, "written as the app role", details={})
    assert AuditEvent.objects.filter(message="written as the app role").exists()

    assert "permission denied" in refused("TRUNCATE remediation_auditevent")
    assert "must be owner" in refused(
        "ALTER TABLE remediation_auditevent DISABLE TRIGGER remediation_auditevent_append_only"
    )
    assert "must be owner" in refused("DROP TABLE remediation_auditevent")
    assert "permission denied" in refused("UPDATE remediation_auditevent SET message = 'x'")
    assert "permission denied" in refused("DELETE FROM remediation_auditevent")
    # Its ordinary work still runs: tickets are read and written, the trail's anchors moved
    # and sealed; but it cannot delete an anchor or change a seal.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM remediation_ticket")
    assert AuditEvent.objects.count() == 2
    assert audit_seal() == 1
    for table in ("remediation_auditanchor", "remediation_auditseal"):
        assert "permission denied" in refused(f"DELETE FROM {table}")
        assert "permission denied" in refused(f"TRUNCATE {table}")
    assert "permission denied" in refused("UPDATE remediation_auditseal SET entries = '[]'")
