"""The "Approvers" group (holding remediation.approve_remediation) and the django-q2
schedule that expires approval requests every minute. Both idempotent (get_or_create)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Approvers"
# Approvers see every ticket (the permission does) and approve; nothing else.
PERMISSIONS = [("remediation", "approve_remediation"), ("remediation", "view_ticket")]
SCHEDULE_NAME = "expire approval requests"
SCHEDULE_FUNC = "remediation.approvals.tasks.expire_approval_requests"


def seed(apps, schema_editor):
    # Permissions are normally created after all migrations ran; create them now so that a
    # fresh database gets a complete group.
    for label in ("remediation",):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, codename in PERMISSIONS:
        perm = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if perm is not None:
            group.permissions.add(perm)
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=SCHEDULE_NAME,
        defaults={"func": SCHEDULE_FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("remediation", "0014_approvals"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
