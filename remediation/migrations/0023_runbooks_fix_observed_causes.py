"""Two causes only observation establishes: an err-disabled port whose protection stopped
tripping (re-enable it) and a link flapping with a clean physical layer (bounce it). The
shipped runbooks for those operations name them; an admin's own edits are kept (only seed
runbooks that do not list them yet are touched)."""

from django.db import migrations

ADDED = {
    "Port disabled: enable it": "err_disabled_recovered",
    "Interface flapping or stuck: bounce it": "negotiation_flap",
}


def add(apps, schema_editor):
    Runbook = apps.get_model("remediation", "Runbook")
    for name, cause in ADDED.items():
        for row in Runbook.objects.filter(name=name, source="seed"):
            causes = [c.strip() for c in row.fixes_causes.splitlines() if c.strip()]
            if causes and cause not in causes:
                row.fixes_causes = "\n".join([*causes, cause])
                row.save(update_fields=["fixes_causes"])


def remove(apps, schema_editor):
    Runbook = apps.get_model("remediation", "Runbook")
    for name, cause in ADDED.items():
        for row in Runbook.objects.filter(name=name, source="seed"):
            causes = [c.strip() for c in row.fixes_causes.splitlines() if c.strip() != cause]
            row.fixes_causes = "\n".join(causes)
            row.save(update_fields=["fixes_causes"])


class Migration(migrations.Migration):
    dependencies = [("remediation", "0022_ticket_investigation")]

    operations = [migrations.RunPython(add, remove)]
