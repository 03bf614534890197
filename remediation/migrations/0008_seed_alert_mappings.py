"""Seed alert label mappings for the common Prometheus conventions.

Written out here, not imported: a migration keeps doing what it did when it was written.
Re-running ``seed`` changes nothing that exists (admins may have edited the rows); reversing
deletes only rows still named as seeded.
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

MAPPINGS = [
    {
        "name": "Kubernetes pod (namespace + pod)",
        "priority": 10,
        "required_labels": ["namespace", "pod"],
        "system_template": "{namespace}/{pod}",
        "strip_port": False,
        "default_category": "kubernetes",
    },
    {
        "name": "Kubernetes node (node)",
        "priority": 20,
        "required_labels": ["node"],
        "system_template": "{node}",
        "strip_port": False,
        "default_category": "server",
    },
    {
        "name": "Prometheus target (instance)",
        "priority": 30,
        "required_labels": ["instance"],
        "system_template": "{instance}",
        "strip_port": True,
        "default_category": "server",
    },
    {
        "name": "Any other alert",
        "priority": 1000,
        "required_labels": [],
        "system_template": "",
        "strip_port": False,
        "default_category": "server",
    },
]


def seed(apps, schema_editor):
    AlertMapping = apps.get_model("remediation", "AlertMapping")
    for row in MAPPINGS:
        AlertMapping.objects.get_or_create(
            name=row["name"],
            defaults={
                **row,
                "category_label": "category",
                "severity_label": "severity",
                "severity_values": SEVERITY_VALUES,
                "default_severity": "medium",
                # Alert tickets opt in to auto-remediation only where an admin says so.
                "enable_auto_remediation": False,
            },
        )


def unseed(apps, schema_editor):
    AlertMapping = apps.get_model("remediation", "AlertMapping")
    AlertMapping.objects.filter(name__in=[row["name"] for row in MAPPINGS]).delete()


class Migration(migrations.Migration):
    dependencies = [("remediation", "0007_alert_intake_and_storm_control")]

    operations = [migrations.RunPython(seed, unseed)]
