"""Seed the alert label mapping for volume claims (the kubelet's volume stats).

Written out here, not imported: a migration keeps doing what it did when it was written.
An existing row of that name (an admin made one) is left as it is; reversing deletes it.
"""

from django.db import migrations

SEVERITY_VALUES = {
    "critical": "critical",
    "page": "high",
    "error": "high",
    "high": "high",
    "warning": "medium",
    "warn": "medium",
    "medium": "medium",
    "info": "low",
    "low": "low",
    "none": "low",
}

NAME = "Kubernetes volume claim (namespace + persistentvolumeclaim)"


def seed(apps, schema_editor):
    AlertMapping = apps.get_model("remediation", "AlertMapping")
    AlertMapping.objects.get_or_create(
        name=NAME,
        defaults={
            "priority": 15,
            "required_labels": ["namespace", "persistentvolumeclaim"],
            "system_template": "{persistentvolumeclaim}",
            "strip_port": False,
            "default_category": "storage",
            "category_label": "category",
            "severity_label": "severity",
            "severity_values": SEVERITY_VALUES,
            "default_severity": "medium",
            "enable_auto_remediation": False,
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("remediation", "AlertMapping").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("remediation", "0041_loop_fix_evidence")]

    operations = [migrations.RunPython(seed, unseed)]
