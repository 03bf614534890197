"""A pattern's average reliability is now over its concluded tickets only (outcome success or
failure). The statistics are rebuilt under that rule by ``0006_eligibility_on_outcomes``,
which every upgrade that runs this migration runs after it (nothing in between reads them):
one rebuild, written once, instead of the same rebuild twice."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0003_patterns_keyed_on_causes"),
        ("remediation", "0032_decided_reliability_score"),
        ("patterns", "0004_shadow_agreement"),
    ]
    operations: list = []
