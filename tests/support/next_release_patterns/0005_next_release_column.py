"""The next release's new column on Pattern (nullable: an upgrade fills nothing)."""

from django.db import migrations, models

COLUMN = "next_release_note"


class Migration(migrations.Migration):
    dependencies = [("patterns", "0004_shadow_agreement")]

    operations = [
        migrations.AddField(
            model_name="pattern",
            name=COLUMN,
            field=models.CharField(max_length=40, null=True, blank=True),
        ),
    ]
