"""Seed one runbook (or more) per catalogue operation, so the local analyzer works out of the box.

The data is written out here, not imported from the catalogue: a migration must keep doing
what it did when it was written. Reversing deletes only the seeded rows (source="seed");
runbooks written by admins or learned from feedback stay.
"""

from django.db import migrations

RUNBOOKS = [
    {
        "name": "VM unresponsive: graceful restart",
        "operation": "restart_vm",
        "symptoms": [
            "vm not responding",
            "vm unresponsive",
            "vm hung",
            "vm frozen",
            "vm is frozen",
            "server not responding",
            "service not responding",
            "web service not responding",
            "guest os unresponsive",
            "vmware tools not running",
            "server hung",
        ],
        "resolution": (
            "The VM stopped responding while its host is healthy. Restart the guest gracefully "
            "(VMware Tools shutdown and power on), then confirm it is powered on, VMware Tools "
            "report running and the service answers again."
        ),
        "params": {},
    },
    {
        "name": "Snapshot VM before a risky change",
        "operation": "snapshot_vm",
        "symptoms": [
            "take a snapshot",
            "snapshot before",
            "pre-change snapshot",
            "snapshot requested",
            "snapshot the vm",
            "backup before patching",
            "before patching",
        ],
        "resolution": (
            "Take a VM snapshot so the change can be reverted, confirm the snapshot exists, and "
            "remove it within 72 hours: snapshots left running grow and slow the VM down."
        ),
        "params": {},
    },
    {
        "name": "VM out of memory: add memory",
        "operation": "increase_memory",
        "symptoms": [
            "out of memory",
            "oom",
            "oom killer",
            "memory pressure",
            "memory exhausted",
            "high memory usage",
            "memory usage high",
            "insufficient memory",
            "swapping",
            "cannot allocate memory",
        ],
        "resolution": (
            "The workload has outgrown the VM's memory. Hot-add memory to the size requested "
            "(vSphere hot-add; memory cannot be hot-removed later), then check the VM stays "
            "powered on, the guest sees the new memory and swapping stops."
        ),
        "params": {},
    },
    {
        "name": "VM CPU saturated: add vCPUs",
        "operation": "increase_cpu",
        "symptoms": [
            "high cpu",
            "cpu saturation",
            "cpu saturated",
            "cpu at 100",
            "cpu usage 100",
            "cpu starvation",
            "cpu ready",
            "load average high",
            "high load average",
            "cpu bound",
        ],
        "resolution": (
            "The VM is CPU-bound. Hot-add vCPUs to the count requested, then confirm the VM is "
            "powered on, the guest sees the new vCPUs and CPU usage falls below 80%."
        ),
        "params": {},
    },
    {
        "name": "Pod crash-looping: recreate it",
        "operation": "restart_pod",
        "symptoms": [
            "crashloopbackoff",
            "crash loop",
            "pod stuck",
            "pod not ready",
            "pod unhealthy",
            "readiness probe failed",
            "liveness probe failed",
            "container restarting",
            "pod restarting",
        ],
        "resolution": (
            "Delete the failing pod so its deployment recreates it on a fresh container, then "
            "check the new pod is Running and the deployment has all replicas ready. If it "
            "crash-loops again, look at the previous container's logs before anything else."
        ),
        "params": {},
    },
    {
        "name": "Deployment under load: scale replicas",
        "operation": "scale_deployment",
        "symptoms": [
            "scale deployment",
            "scale up",
            "scale out",
            "more replicas",
            "insufficient replicas",
            "traffic spike",
            "hpa maxed",
            "high request latency",
            "replicas",
        ],
        "resolution": (
            "The deployment cannot keep up with load. Scale it to the replica count requested, "
            "then check all replicas are ready and latency returns to normal. Scale back when "
            "the load passes."
        ),
        "params": {},
    },
    {
        "name": "Bad release: roll the deployment back",
        "operation": "rollback_deployment",
        "symptoms": [
            "bad deploy",
            "bad release",
            "failed rollout",
            "rollout failed",
            "errors after deployment",
            "errors after release",
            "regression after deployment",
            "roll back",
            "rollback deployment",
            "imagepullbackoff",
            "new version broken",
        ],
        "resolution": (
            "The latest rollout broke the service. Roll the deployment back to the previous "
            "revision (or the one named), then confirm the rollout completes and every replica "
            "is ready. Keep the failed version's logs for the post-mortem."
        ),
        "params": {},
    },
    {
        "name": "Interface errors: clear counters",
        "operation": "clear_interface_errors",
        "symptoms": [
            "interface errors",
            "crc errors",
            "input errors",
            "output errors",
            "fcs errors",
            "frame errors",
            "error counters",
            "packet errors",
        ],
        "resolution": (
            "Clear the interface's error counters to get a clean baseline, then confirm the "
            "interface is up and the counters stay at zero. Counters that climb again point to "
            "the cable or optic: replace it."
        ),
        "params": {},
    },
    {
        "name": "Port disabled: enable it",
        "operation": "enable_port",
        "symptoms": [
            "port disabled",
            "port is disabled",
            "administratively down",
            "admin down",
            "err disabled",
            "errdisable",
            "port shutdown",
            "port shut down",
        ],
        "resolution": (
            "The port is administratively disabled. Find out why it was disabled (a loop or "
            "port-security violation disables ports on purpose), then enable it and confirm it "
            "comes up."
        ),
        "params": {},
    },
    {
        "name": "Interface flapping or stuck: bounce it",
        "operation": "restart_interface",
        "symptoms": [
            "interface flapping",
            "link flapping",
            "port flapping",
            "interface stuck",
            "interface down",
            "link down",
            "no carrier",
            "up but no traffic",
            "bounce interface",
        ],
        "resolution": (
            "Bounce the interface (shutdown, no shutdown) to renegotiate the link, then confirm "
            "it is up and passing traffic. A link that keeps flapping needs the cable, optic or "
            "peer checked."
        ),
        "params": {},
    },
    {
        "name": "Volume nearly full: expand it",
        "operation": "expand_volume",
        "symptoms": [
            "disk full",
            "volume full",
            "volume 95",
            "filesystem full",
            "file system full",
            "no space left on device",
            "low disk space",
            "disk usage",
            "volume usage",
            "out of disk space",
            "running out of space",
        ],
        "resolution": (
            "The volume is running out of space. Grow it to the size requested (volumes cannot "
            "shrink afterwards, so confirm a backup exists), then extend the file system and "
            "check the volume is online at the new size."
        ),
        "params": {},
    },
    {
        "name": "Old snapshots filling storage: clear them",
        "operation": "clear_snapshots",
        "symptoms": [
            "old snapshots",
            "too many snapshots",
            "snapshot space",
            "snapshot reserve",
            "snapshots consuming space",
            "snapshot retention",
            "stale snapshots",
        ],
        "resolution": (
            "Old snapshots are consuming the volume's space. Delete snapshots past the retention "
            "period, always keeping the newest ones; deleted snapshots cannot be restored, so "
            "confirm a backup first. Check the volume stays online afterwards."
        ),
        "params": {"older_than_days": 30, "keep_last": 3},
    },
    {
        "name": "OpenStack instance unresponsive: soft reboot",
        "operation": "reboot_instance",
        "symptoms": [
            "instance not responding",
            "instance unresponsive",
            "instance hung",
            "instance frozen",
            "nova instance",
            "openstack instance",
            "soft reboot",
            "instance console unresponsive",
        ],
        "resolution": (
            "The instance stopped responding. Soft-reboot it through Nova (an ACPI reboot, not a "
            "hard reset), then confirm it returns to ACTIVE and answers again."
        ),
        "params": {},
    },
    {
        "name": "OpenStack instance undersized: resize flavor",
        "operation": "resize_instance",
        "symptoms": [
            "resize instance",
            "larger flavor",
            "bigger flavor",
            "flavor too small",
            "change flavor",
            "instance undersized",
            "resize to",
            "upgrade flavor",
        ],
        "resolution": (
            "The instance needs a larger flavor. Resize it to the flavor requested (it reboots "
            "once), confirm the resize, and check it is ACTIVE on the new flavor."
        ),
        "params": {},
    },
]


def seed(apps, schema_editor):
    Runbook = apps.get_model("remediation", "Runbook")
    for data in RUNBOOKS:
        Runbook.objects.get_or_create(
            name=data["name"],
            defaults={
                "operation": data["operation"],
                "category": "",
                "symptoms": "\n".join(data["symptoms"]),
                "resolution": data["resolution"],
                "params": data["params"],
                "source": "seed",
                "enabled": True,
            },
        )


def unseed(apps, schema_editor):
    Runbook = apps.get_model("remediation", "Runbook")
    Runbook.objects.filter(source="seed").delete()


class Migration(migrations.Migration):
    dependencies = [("remediation", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
