"""The lab's investigation tools name a VM's volumes and a volume's VM: the relations that
put a volume inside a ticket's affected system (nothing puts it there by kind alone)."""

from django.db import migrations

OLD_VM = {"kind": "vm", "tool": "get_vm", "args": {"vm": "{name}"}, "relatives": {"host": "host"}}
NEW_VM = {
    "kind": "vm",
    "tool": "get_vm",
    "args": {"vm": "{name}"},
    "relatives": {"host": "host", "volume": "volumes"},
}
OLD_VOLUME = {"kind": "volume", "tool": "get_volume", "args": {"volume": "{name}"}}
NEW_VOLUME = {
    "kind": "volume",
    "tool": "get_volume",
    "args": {"volume": "{name}"},
    "relatives": {"vm": "attached_to"},
}


def _swap(apps, pairs):
    PlatformConnector = apps.get_model("remediation", "PlatformConnector")
    for row in PlatformConnector.objects.filter(simulated=True, args=["-m", "lab"]):
        entries = row.investigation_tools or []
        # Only the lab's own entries as shipped; an entry an admin edited stays as it is.
        changed = [next((new for old, new in pairs if e == old), e) for e in entries]
        if changed != entries:
            row.investigation_tools = changed
            row.save(update_fields=["investigation_tools"])


def relate(apps, schema_editor):
    _swap(apps, [(OLD_VM, NEW_VM), (OLD_VOLUME, NEW_VOLUME)])


def unrelate(apps, schema_editor):
    _swap(apps, [(NEW_VM, OLD_VM), (NEW_VOLUME, OLD_VOLUME)])


class Migration(migrations.Migration):
    dependencies = [("remediation", "0028_audit_anchors_and_seals")]
    operations = [migrations.RunPython(relate, unrelate)]
