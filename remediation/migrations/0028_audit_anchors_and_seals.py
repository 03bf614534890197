"""Each stream of the audit trail gets an anchor (its length and last hash, under an HMAC),
and the anchors are sealed every minute into a chain of seals (see
remediation/audit/services.py).

The anchors of the streams already in the trail are built here from their rows as they are,
so an upgrade does not report every older stream as unanchored (a break already in a chain
is still reported at its row). Run it with the web server and the workers stopped: a row
appended by the older code meanwhile would not move its stream's anchor.

On PostgreSQL, as for the audit rows (0003), triggers refuse UPDATE and DELETE of a seal
and DELETE of an anchor; the schedule that seals is created here (idempotent).
"""

import hashlib
import hmac
import json

from django.conf import settings
import django.utils.timezone
from django.db import migrations, models


GENESIS = "0" * 64
SCHEDULE_NAME = "seal audit anchors"
SCHEDULE_FUNC = "remediation.audit.tasks.seal_audit_anchors"

CREATE = """
CREATE OR REPLACE FUNCTION remediation_audit_refuse() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% refuses % (the audit trail is append-only)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER remediation_auditseal_append_only
    BEFORE UPDATE OR DELETE ON remediation_auditseal
    FOR EACH ROW EXECUTE FUNCTION remediation_audit_refuse();
CREATE TRIGGER remediation_auditanchor_kept
    BEFORE DELETE ON remediation_auditanchor
    FOR EACH ROW EXECUTE FUNCTION remediation_audit_refuse();
"""

DROP = """
DROP TRIGGER IF EXISTS remediation_auditseal_append_only ON remediation_auditseal;
DROP TRIGGER IF EXISTS remediation_auditanchor_kept ON remediation_auditanchor;
DROP FUNCTION IF EXISTS remediation_audit_refuse();
"""


# A copy of remediation.audit.services.anchor_mac as it is when this migration is written
# (a migration must not change with the code after it).
def _anchor_mac(stream, length, head_hash):
    configured = str(getattr(settings, "AUDIT_HMAC_KEY", "") or "")
    key = hashlib.sha256((configured or f"audit-chain:{settings.SECRET_KEY}").encode()).digest()
    content = {
        "kind": "anchor",
        "stream": stream,
        "length": length,
        "head": head_hash,
        "sealed_seq": 0,
        "sealed_length": 0,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def build_anchors(apps, schema_editor):
    AuditEvent = apps.get_model("remediation", "AuditEvent")
    AuditAnchor = apps.get_model("remediation", "AuditAnchor")
    ends = {}  # stream -> [length, last hash]; one small entry per stream
    rows = AuditEvent.objects.order_by("id").values_list("stream", "hash")
    for stream, row_hash in rows.iterator(chunk_size=2000):
        if not stream or not row_hash:  # rows from before the chain: verify names them
            continue
        end = ends.setdefault(stream, [0, GENESIS])
        end[0] += 1
        end[1] = row_hash
    AuditAnchor.objects.bulk_create(
        (
            AuditAnchor(
                stream=stream,
                length=length,
                head_hash=head,
                mac=_anchor_mac(stream, length, head),
            )
            for stream, (length, head) in ends.items()
        ),
        batch_size=1000,
        ignore_conflicts=True,
    )


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('remediation', '0027_apitoken_from_legacy_tokens'),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditSeal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('seq', models.PositiveBigIntegerField(unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('entries', models.JSONField(default=list)),
                ('prev_hash', models.CharField(max_length=64)),
                ('hash', models.CharField(max_length=64)),
            ],
            options={
                'ordering': ['seq'],
            },
        ),
        migrations.CreateModel(
            name='AuditAnchor',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('stream', models.CharField(max_length=64, unique=True)),
                ('length', models.PositiveBigIntegerField()),
                ('head_hash', models.CharField(max_length=64)),
                ('sealed_seq', models.PositiveBigIntegerField(default=0)),
                ('sealed_length', models.PositiveBigIntegerField(default=0)),
                ('mac', models.CharField(max_length=64)),
            ],
            options={
                'indexes': [models.Index(condition=models.Q(('length__gt', models.F('sealed_length'))), fields=['id'], name='audit_anchor_unsealed_idx')],
            },
        ),
        migrations.RunPython(build_anchors, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(schedule, unschedule),
    ]
