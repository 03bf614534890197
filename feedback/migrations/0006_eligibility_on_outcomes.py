"""A pattern's eligibility (and a policy's ``min_positive_feedback_rate``) now holds against
the share of its concluded tickets that succeeded, measured where something ran, instead of
the share of positive ratings: rebuild every pattern with ``recompute_patterns``'s service so
each stored eligibility is settled under the new rule (and any change is audited)."""

from django.db import migrations


def recompute(apps, schema_editor):
    Ticket = apps.get_model("remediation", "Ticket")
    if not Ticket.objects.filter(pattern__isnull=False).exists():
        return
    from feedback.rebuild.services import patterns_recompute

    patterns_recompute()


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0005_review"),
        ("policies", "0005_min_positive_feedback_rate_on_outcomes"),
    ]
    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
