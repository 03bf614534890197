"""The shadow agreement counts of a pattern (docs/learning.md).

Runs before ``feedback.0003_patterns_keyed_on_causes``, whose statistics rebuild (the
project's current code) reads these columns.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('patterns', '0003_pattern_rejection_count'),
    ]

    operations = [
        migrations.AddField(
            model_name='pattern',
            name='shadow_agreement_count',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='pattern',
            name='shadow_agreement_rate',
            field=models.FloatField(db_default=0.0, default=0.0),
        ),
        migrations.AddField(
            model_name='pattern',
            name='shadow_disagreement_count',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
    ]
