"""A pattern's average reliability is now over its concluded tickets only (outcome success or
failure): rebuild every pattern's statistics with ``recompute_patterns``'s service, so the
incremental updates that follow start from the same numbers (and any eligibility that
changes is audited)."""

from django.db import migrations


def recompute(apps, schema_editor):
    Ticket = apps.get_model("remediation", "Ticket")
    if not Ticket.objects.filter(pattern__isnull=False).exists():
        return
    from feedback.rebuild.services import patterns_recompute

    patterns_recompute()


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_patterns_keyed_on_causes"),
        ("remediation", "0032_decided_reliability_score"),
        ("patterns", "0004_shadow_agreement"),
    ]
    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
