"""The groups that hold the trusted permissions by default (docs/learning.md).

Approvers approve remediation, give trusted feedback and read patterns and statistics;
Operators give trusted feedback and read patterns and statistics. Integrations hold none of
these unless an admin grants them. get_or_create: re-running, or a group an admin already
made, is fine; permissions an admin removed from a group later are not re-added by later
migrations (this runs once).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Approvers": [
        ("remediation", "approve_remediation"),
        ("feedback", "teach"),
        ("patterns", "view_pattern_stats"),
    ],
    "Operators": [
        ("feedback", "teach"),
        ("remediation", "view_ticket"),
        ("patterns", "view_pattern_stats"),
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after migrate; make sure these exist now.
    for label in ("remediation", "feedback", "patterns"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in perms:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("remediation", "0004_learning_integrity"),
        ("feedback", "0002_learning_integrity"),
        ("patterns", "0002_learning_integrity"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
