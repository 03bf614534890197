"""Point every platform at the bundled lab over stdio, and schedule the execution sweep.

Written out here rather than imported: a migration keeps doing what it did when written.
An empty command means "the Python interpreter running the application" (the lab is the
``lab`` package of this project: ``python -m lab``). Reversing removes only these rows.
"""

from django.db import migrations

PLATFORMS = ("vmware", "kubernetes", "network", "storage", "openstack")


def create(apps, schema_editor):
    PlatformConnector = apps.get_model("remediation", "PlatformConnector")
    for platform in PLATFORMS:
        PlatformConnector.objects.get_or_create(
            platform=platform,
            defaults={
                "name": "Lab (simulated datacenter)",
                "transport": "stdio",
                "command": "",
                "args": ["-m", "lab"],
                "env": {},
                "url": "",
                "tool_map": {},
                "timeout_seconds": 10.0,
                "simulated": True,
                "enabled": True,
            },
        )
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="sweep-executions",
        defaults={
            "func": "remediation.execution.tasks.sweep_executions",
            "schedule_type": "I",
            "minutes": 2,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    PlatformConnector = apps.get_model("remediation", "PlatformConnector")
    PlatformConnector.objects.filter(simulated=True, args=["-m", "lab"]).delete()
    apps.get_model("django_q", "Schedule").objects.filter(name="sweep-executions").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("remediation", "0011_execution_connectors_audit_chain"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
