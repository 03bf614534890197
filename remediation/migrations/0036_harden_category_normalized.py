"""Categories are stored normalized (lowercase) everywhere: tickets, executions, runbooks,
alert mappings' defaults and the daily counters (policies and pauses: the policies app's
own migration). The API and the alert intake lowered categories already; rows written
another way are lowered here. Two counters of one day that become one category are added
together."""

from django.db import migrations
from django.db.models import F
from django.db.models.functions import Lower

import policies.categories

COUNTS = (
    "tickets", "success_count", "failure_count", "feedback_count", "positive_count",
    "negative_count", "neutral_count", "rating_sum", "confidence_sum", "reliability_sum",
    "reliability_count", "investigations", "investigations_failed", "investigation_calls",
    "investigation_call_errors", "investigation_seconds_sum",
)  # fmt: skip


def lower_categories(apps, schema_editor):
    for model, field in (
        ("Ticket", "category"),
        ("Execution", "category"),
        ("Runbook", "category"),
        ("AlertMapping", "default_category"),
    ):
        rows = apps.get_model("remediation", model).objects
        rows.exclude(**{field: Lower(field)}).update(**{field: Lower(field)})
    Stats = apps.get_model("remediation", "CategoryDailyStats")
    for row in Stats.objects.exclude(category=Lower("category")):
        lowered = row.category.lower()
        same = Stats.objects.filter(category=lowered, day=row.day).exclude(pk=row.pk)
        if same.exists():
            same.update(**{name: F(name) + getattr(row, name) for name in COUNTS})
            row.delete()
        else:
            Stats.objects.filter(pk=row.pk).update(category=lowered)


class Migration(migrations.Migration):

    dependencies = [
        ('remediation', '0035_names_ticket_alert_labels'),
    ]

    operations = [
        migrations.RunPython(lower_categories, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='alertmapping',
            name='default_category',
            field=policies.categories.CategoryField(default='server'),
        ),
        migrations.AlterField(
            model_name='categorydailystats',
            name='category',
            field=policies.categories.CategoryField(),
        ),
        migrations.AlterField(
            model_name='execution',
            name='category',
            field=policies.categories.CategoryField(blank=True, db_index=True),
        ),
        migrations.AlterField(
            model_name='runbook',
            name='category',
            field=policies.categories.CategoryField(blank=True, help_text='Only for tickets of this category; blank for any'),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='category',
            field=policies.categories.CategoryField(db_index=True),
        ),
    ]
