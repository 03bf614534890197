"""Categories are stored normalized (lowercase): a pause typed ``CACHE`` once matched no
ticket, since tickets store ``cache``. Rows stored before are lowered here. A pause whose
lowered category is paused already is the same pause: the duplicate goes. A policy whose
lowered category another policy has already is kept but disabled, under
``<category>-duplicate-<id>``, for an administrator to merge (never two policies for one
category)."""

from django.db import migrations
from django.db.models.functions import Lower

import policies.categories


def lower_categories(apps, schema_editor):
    Pause = apps.get_model("policies", "RemediationPause")
    Policy = apps.get_model("policies", "AutoRemediationPolicy")
    for pause in Pause.objects.exclude(category=Lower("category")):
        lowered = pause.category.strip().lower()
        if Pause.objects.filter(category=lowered).exclude(pk=pause.pk).exists():
            pause.delete()
        else:
            Pause.objects.filter(pk=pause.pk).update(category=lowered)
    for policy in Policy.objects.exclude(category=Lower("category")):
        lowered = policy.category.strip().lower()
        if Policy.objects.filter(category=lowered).exclude(pk=policy.pk).exists():
            Policy.objects.filter(pk=policy.pk).update(
                category=f"{lowered}-duplicate-{policy.pk}"[:50], enabled=False
            )
        else:
            Policy.objects.filter(pk=policy.pk).update(category=lowered)


class Migration(migrations.Migration):

    dependencies = [
        ('policies', '0005_min_positive_feedback_rate_on_outcomes'),
    ]

    operations = [
        migrations.RunPython(lower_categories, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='autoremediationpolicy',
            name='category',
            field=policies.categories.CategoryField(help_text="The tickets' category this policy governs (stored in lowercase; tickets, pauses and alert mappings name it the same way).", unique=True),
        ),
        migrations.AlterField(
            model_name='remediationpause',
            name='category',
            field=policies.categories.CategoryField(blank=True, help_text='The category paused, as tickets name it (stored in lowercase); empty pauses every category.', unique=True),
        ),
    ]
