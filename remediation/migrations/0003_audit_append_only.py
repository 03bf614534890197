"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the audit table.

The model and its queryset refuse too, but a trigger also stops raw SQL, a bulk tool or a
future code path that forgets. (SQLite, the embedded quickstart database, relies on the
model guard.)
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION remediation_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'remediation_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER remediation_auditevent_append_only
    BEFORE UPDATE OR DELETE ON remediation_auditevent
    FOR EACH ROW EXECUTE FUNCTION remediation_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS remediation_auditevent_append_only ON remediation_auditevent;
DROP FUNCTION IF EXISTS remediation_audit_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("remediation", "0002_seed_runbooks")]

    operations = [migrations.RunPython(create, drop)]
