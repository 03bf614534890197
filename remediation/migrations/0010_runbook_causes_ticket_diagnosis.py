"""Runbooks say which causes their action fixes and where it does not help; tickets keep
their diagnosis. The seeded runbooks get their causes here (written out: a migration keeps
doing what it did when it was written); admin and learned runbooks are left blank, which
means the catalogue's defaults.
"""

from django.db import migrations, models

# name -> (fixes_causes, not_for_causes)
CAUSES = {
    "Bad release: roll the deployment back": (
        ["bad_release"],
        [
            "cert_expired",
            "dependency_down",
            "host_down",
            "load_spike",
            "quota_exceeded",
            "secret_missing",
            "unschedulable",
        ],
    ),
    "Deployment under load: scale replicas": (
        ["load_spike"],
        [
            "bad_command",
            "bad_release",
            "config_error",
            "dependency_down",
            "env_missing",
            "image_missing",
            "memory_leak",
            "oom_killed",
            "probe_misconfigured",
            "secret_missing",
            "unschedulable",
        ],
    ),
    "Interface errors: clear counters": (
        ["stale_counters"],
        ["err_disabled", "link_flapping", "physical_layer"],
    ),
    "Interface flapping or stuck: bounce it": (
        ["interface_stuck"],
        ["admin_down", "err_disabled", "link_flapping", "physical_layer"],
    ),
    "Old snapshots filling storage: clear them": (
        ["snapshot_growth"],
        ["data_growth", "inode_exhaustion", "log_growth", "storage_path"],
    ),
    "OpenStack instance undersized: resize flavor": (
        ["cpu_undersized", "memory_undersized"],
        ["host_down", "instance_error", "memory_leak", "runaway_cpu"],
    ),
    "OpenStack instance unresponsive: soft reboot": (
        ["hung"],
        [
            "bad_command",
            "bad_release",
            "cert_expired",
            "config_error",
            "cpu_contention",
            "data_growth",
            "dependency_down",
            "env_missing",
            "host_down",
            "image_missing",
            "inode_exhaustion",
            "instance_error",
            "log_growth",
            "memory_leak",
            "oom_killed",
            "probe_misconfigured",
            "quota_exceeded",
            "runaway_cpu",
            "secret_missing",
            "snapshot_growth",
            "storage_path",
            "unschedulable",
        ],
    ),
    "Pod crash-looping: recreate it": (
        ["hung"],
        [
            "bad_command",
            "bad_release",
            "cert_expired",
            "config_error",
            "cpu_contention",
            "data_growth",
            "dependency_down",
            "env_missing",
            "host_down",
            "image_missing",
            "inode_exhaustion",
            "instance_error",
            "log_growth",
            "memory_leak",
            "oom_killed",
            "probe_misconfigured",
            "quota_exceeded",
            "runaway_cpu",
            "secret_missing",
            "snapshot_growth",
            "storage_path",
            "unschedulable",
        ],
    ),
    "Port disabled: enable it": (
        ["admin_down"],
        ["err_disabled", "link_flapping", "physical_layer"],
    ),
    "Snapshot VM before a risky change": (["snapshot_requested"], ["host_down", "storage_path"]),
    "VM CPU saturated: add vCPUs": (
        ["cpu_undersized"],
        ["bad_release", "cpu_contention", "host_down", "runaway_cpu"],
    ),
    "VM out of memory: add memory": (
        ["memory_undersized"],
        ["bad_release", "host_down", "memory_leak", "oom_killed"],
    ),
    "VM unresponsive: graceful restart": (
        ["hung"],
        [
            "bad_command",
            "bad_release",
            "cert_expired",
            "config_error",
            "cpu_contention",
            "data_growth",
            "dependency_down",
            "env_missing",
            "host_down",
            "image_missing",
            "inode_exhaustion",
            "instance_error",
            "log_growth",
            "memory_leak",
            "oom_killed",
            "probe_misconfigured",
            "quota_exceeded",
            "runaway_cpu",
            "secret_missing",
            "snapshot_growth",
            "storage_path",
            "unschedulable",
        ],
    ),
    "Volume nearly full: expand it": (
        ["data_growth"],
        ["deleted_open_files", "inode_exhaustion", "log_growth", "snapshot_growth", "storage_path"],
    ),
}


def seed_causes(apps, schema_editor):
    Runbook = apps.get_model("remediation", "Runbook")
    for name, (fixes, not_for) in CAUSES.items():
        Runbook.objects.filter(name=name, source="seed").update(
            fixes_causes="\n".join(fixes), not_for_causes="\n".join(not_for)
        )


def unseed_causes(apps, schema_editor):
    pass  # the columns go away with the reversed AddField


class Migration(migrations.Migration):
    dependencies = [
        ('remediation', '0009_audit_actions_merged'),
    ]

    operations = [
        migrations.AddField(
            model_name="runbook",
            name="fixes_causes",
            field=models.TextField(
                blank=True,
                help_text="Cause keys this runbook's action fixes, one per line (see docs/analysis.md); blank: the catalogue's default for the operation. The action is proposed only for these.",
            ),
        ),
        migrations.AddField(
            model_name="runbook",
            name="not_for_causes",
            field=models.TextField(
                blank=True,
                help_text="Cause keys where this action does not help or harms, one per line. Added to the catalogue's own list, which always applies.",
            ),
        ),
        migrations.AddField(
            model_name="ticket",
            name="diagnosis",
            field=models.JSONField(
                blank=True,
                help_text="The analysis's diagnosis: cause, evidence quoted from the ticket, what was ruled out, whether a person is needed and why.",
                null=True,
            ),
        ),
        migrations.RunPython(seed_causes, unseed_causes),
    ]
