"""The reference data every installation ships with, as it stands after all migrations.

The migrations write this data into a new database, each with its own frozen copy (a
migration keeps doing what it did when it was written and imports none of the
application's code); this module is the current copy, used where the application or its
tests need the shipped rows again, e.g. after a transactional test emptied the tables.
``tests/remediation/test_seeds.py`` checks that a freshly migrated database holds exactly
what this module describes, so the two cannot drift apart unnoticed.

Every function is idempotent and leaves rows that exist alone (an admin's edits stay).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django_q.models import Schedule

from remediation.alerts.models import AlertMapping
from remediation.analysis.models import Runbook, RunbookSource
from remediation.connectors.models import LAB_INVESTIGATION_TOOLS, PlatformConnector
from remediation.connectors.rules.lab_profile import LAB_PROFILE
from remediation.connectors.rules.prometheus_profile import PROMETHEUS_PROFILE

# --- Runbooks: one (or more) per catalogue operation, so the local analyzer works out of
# the box; the causes each fixes and those it does not help with (docs/analysis.md).

# A restart fixes a hang and nothing else: every other cause a restart would only hide.
NOT_FOR_A_HANG_FIX = [
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
]

RUNBOOKS: list[dict[str, Any]] = [
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
        "resolution": "The VM stopped responding while its host is healthy. Restart the guest "
        "gracefully (VMware Tools shutdown and power on), then confirm it is powered "
        "on, VMware Tools report running and the service answers again.",
        "params": {},
        "fixes_causes": ["hung"],
        "not_for_causes": NOT_FOR_A_HANG_FIX,
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
        "resolution": "Take a VM snapshot so the change can be reverted, confirm the snapshot "
        "exists, and remove it within 72 hours: snapshots left running grow and slow "
        "the VM down.",
        "params": {},
        "fixes_causes": ["snapshot_requested"],
        "not_for_causes": ["host_down", "storage_path"],
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
        "resolution": "The workload has outgrown the VM's memory. Hot-add memory to the size "
        "requested (vSphere hot-add; memory cannot be hot-removed later), then check "
        "the VM stays powered on, the guest sees the new memory and swapping stops.",
        "params": {},
        "fixes_causes": ["memory_undersized"],
        "not_for_causes": ["bad_release", "host_down", "memory_leak", "oom_killed"],
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
        "resolution": "The VM is CPU-bound. Hot-add vCPUs to the count requested, then confirm the "
        "VM is powered on, the guest sees the new vCPUs and CPU usage falls below "
        "80%.",
        "params": {},
        "fixes_causes": ["cpu_undersized"],
        "not_for_causes": ["bad_release", "cpu_contention", "host_down", "runaway_cpu"],
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
        "resolution": "Delete the failing pod so its deployment recreates it on a fresh container, "
        "then check the new pod is Running and the deployment has all replicas ready. "
        "If it crash-loops again, look at the previous container's logs before "
        "anything else.",
        "params": {},
        "fixes_causes": ["hung"],
        "not_for_causes": NOT_FOR_A_HANG_FIX,
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
        "resolution": "The deployment cannot keep up with load. Scale it to the replica count "
        "requested, then check all replicas are ready and latency returns to normal. "
        "Scale back when the load passes.",
        "params": {},
        "fixes_causes": ["load_spike"],
        "not_for_causes": [
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
        "resolution": "The latest rollout broke the service. Roll the deployment back to the "
        "previous revision (or the one named), then confirm the rollout completes and "
        "every replica is ready. Keep the failed version's logs for the post-mortem.",
        "params": {},
        "fixes_causes": ["bad_release"],
        "not_for_causes": [
            "cert_expired",
            "dependency_down",
            "host_down",
            "load_spike",
            "quota_exceeded",
            "secret_missing",
            "unschedulable",
        ],
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
        "resolution": "Clear the interface's error counters to get a clean baseline, then confirm "
        "the interface is up and the counters stay at zero. Counters that climb again "
        "point to the cable or optic: replace it.",
        "params": {},
        "fixes_causes": ["stale_counters"],
        "not_for_causes": ["err_disabled", "link_flapping", "physical_layer"],
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
        "resolution": "The port is administratively disabled. Find out why it was disabled (a loop "
        "or port-security violation disables ports on purpose), then enable it and "
        "confirm it comes up.",
        "params": {},
        "fixes_causes": ["admin_down", "err_disabled_recovered"],
        "not_for_causes": ["err_disabled", "link_flapping", "physical_layer"],
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
        "resolution": "Bounce the interface (shutdown, no shutdown) to renegotiate the link, then "
        "confirm it is up and passing traffic. A link that keeps flapping needs the "
        "cable, optic or peer checked.",
        "params": {},
        "fixes_causes": ["interface_stuck", "negotiation_flap"],
        "not_for_causes": ["admin_down", "err_disabled", "link_flapping", "physical_layer"],
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
        "resolution": "The volume is running out of space. Grow it to the size requested (volumes "
        "cannot shrink afterwards, so confirm a backup exists), then extend the file "
        "system and check the volume is online at the new size.",
        "params": {},
        "fixes_causes": ["data_growth"],
        "not_for_causes": [
            "deleted_open_files",
            "inode_exhaustion",
            "log_growth",
            "snapshot_growth",
            "storage_path",
        ],
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
        "resolution": "Old snapshots are consuming the volume's space. Delete snapshots past the "
        "retention period, always keeping the newest ones; deleted snapshots cannot "
        "be restored, so confirm a backup first. Check the volume stays online "
        "afterwards.",
        "params": {"older_than_days": 30, "keep_last": 3},
        "fixes_causes": ["snapshot_growth"],
        "not_for_causes": ["data_growth", "inode_exhaustion", "log_growth", "storage_path"],
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
        "resolution": "The instance stopped responding. Soft-reboot it through Nova (an ACPI "
        "reboot, not a hard reset), then confirm it returns to ACTIVE and answers "
        "again.",
        "params": {},
        "fixes_causes": ["hung"],
        "not_for_causes": NOT_FOR_A_HANG_FIX,
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
        "resolution": "The instance needs a larger flavor. Resize it to the flavor requested (it "
        "reboots once), confirm the resize, and check it is ACTIVE on the new flavor.",
        "params": {},
        "fixes_causes": ["cpu_undersized", "memory_undersized"],
        "not_for_causes": ["host_down", "instance_error", "memory_leak", "runaway_cpu"],
    },
]


def runbooks_seed() -> None:
    """The shipped runbooks (source "seed"), each created unless one of its name exists."""
    for data in RUNBOOKS:
        Runbook.objects.get_or_create(
            name=data["name"],
            defaults={
                "operation": data["operation"],
                "category": "",
                "symptoms": "\n".join(data["symptoms"]),
                "resolution": data["resolution"],
                "params": data["params"],
                "fixes_causes": "\n".join(data["fixes_causes"]),
                "not_for_causes": "\n".join(data["not_for_causes"]),
                "source": RunbookSource.SEED,
                "enabled": True,
            },
        )


# --- Alert label mappings for the common Prometheus conventions (docs/alerts.md).

ALERT_SEVERITY_VALUES = {
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

ALERT_MAPPINGS: list[dict[str, Any]] = [
    {
        "name": "Kubernetes pod (namespace + pod)",
        "priority": 10,
        "required_labels": ["namespace", "pod"],
        "system_template": "{namespace}/{pod}",
        "strip_port": False,
        "default_category": "kubernetes",
    },
    {
        # The kubelet's volume stats (KubePersistentVolumeFillingUp): the claim is the
        # object, not the node whose kubelet reported it (its ``instance``).
        "name": "Kubernetes volume claim (namespace + persistentvolumeclaim)",
        "priority": 15,
        "required_labels": ["namespace", "persistentvolumeclaim"],
        "system_template": "{persistentvolumeclaim}",
        "strip_port": False,
        "default_category": "storage",
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

ALERT_MAPPING_COMMON: dict[str, Any] = {
    "category_label": "category",
    "severity_label": "severity",
    "severity_values": ALERT_SEVERITY_VALUES,
    "default_severity": "medium",
    # Alert tickets opt in to auto-remediation only where an admin says so.
    "enable_auto_remediation": False,
}


def alert_mappings_seed() -> None:
    for row in ALERT_MAPPINGS:
        AlertMapping.objects.get_or_create(
            name=row["name"], defaults={**row, **ALERT_MAPPING_COMMON}
        )


# --- Every platform points at the bundled lab over stdio, with the lab's read-only
# investigation tools. An empty command means the Python interpreter running the
# application (``python -m lab``).

LAB_PLATFORMS = ("vmware", "kubernetes", "network", "storage", "openstack")

LAB_CONNECTOR: dict[str, Any] = {
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
}


# The Prometheus connector: the published prometheus-mcp-server over stdio (make
# prometheus-mcp), shipped disabled so the embedded default needs no Prometheus.
PROMETHEUS_CONNECTOR: dict[str, Any] = {
    "platform": "prometheus",
    "name": "Prometheus (exporters' series, read-only)",
    "transport": "stdio",
    "command": "var/prometheus-mcp/bin/prometheus-mcp-server",
    "args": [],
    "env": {
        "PROMETHEUS_URL": "http://127.0.0.1:9090",
        "PROMETHEUS_DISABLE_LINKS": "true",
        "PROMETHEUS_REQUEST_TIMEOUT": "5",
    },
    "timeout_seconds": 5.0,
    "simulated": False,
    "enabled": False,
}


def lab_profile_for(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The lab's dialect, limited to the entries that read a connector's own listed tools."""
    listed = {(e.get("kind"), e.get("tool")) for e in tools}
    kinds = {kind for kind, _ in listed}
    return {
        "examples": {k: v for k, v in LAB_PROFILE["examples"].items() if k in kinds},
        "observations": [
            e
            for e in LAB_PROFILE["observations"]
            if (e["observation"].split(".", 1)[0], e["tool"]) in listed
        ],
    }


def lab_connectors_seed() -> None:
    for platform in LAB_PLATFORMS:
        tools = LAB_INVESTIGATION_TOOLS[platform]
        PlatformConnector.objects.get_or_create(
            platform=platform,
            defaults={
                **LAB_CONNECTOR,
                "investigation_tools": tools,
                "profile": lab_profile_for(tools),
            },
        )
    PlatformConnector.objects.get_or_create(
        platform="prometheus",
        defaults={**PROMETHEUS_CONNECTOR, "profile": PROMETHEUS_PROFILE},
    )


# --- The groups that hold the trusted permissions by default (docs/learning.md,
# docs/approvals.md).

GROUPS: dict[str, list[tuple[str, str]]] = {
    "Approvers": [
        ("feedback", "teach"),
        ("patterns", "view_pattern_stats"),
        ("remediation", "approve_remediation"),
        ("remediation", "view_ticket"),
    ],
    "Operators": [
        ("feedback", "teach"),
        ("patterns", "view_pattern_stats"),
        ("remediation", "view_ticket"),
    ],
}


def groups_seed() -> None:
    """The groups, created unless they exist, with their permissions added (none removed).
    The permissions exist once the database is migrated."""
    for name, permissions in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in permissions:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


# --- The queue's schedules: dotted paths, stored in the queue (they keep their names).

SCHEDULES: list[dict[str, Any]] = [
    {"name": "sweep-executions", "func": "remediation.execution.tasks.sweep_executions",
     "minutes": 2},
    {"name": "expire approval requests",
     "func": "remediation.approvals.tasks.expire_approval_requests", "minutes": 1},
    {"name": "seal audit anchors", "func": "remediation.audit.tasks.seal_audit_anchors",
     "minutes": 1},
    {"name": "refit calibration", "func": "remediation.scoring.tasks.refit_calibration",
     "minutes": 60},
]  # fmt: skip


def schedules_seed() -> None:
    for row in SCHEDULES:
        Schedule.objects.get_or_create(
            name=row["name"],
            defaults={
                "func": row["func"],
                "schedule_type": Schedule.MINUTES,
                "minutes": row["minutes"],
                "repeats": -1,
            },
        )


def reference_data_seed() -> None:
    """Everything above, in one transaction."""
    with transaction.atomic():
        runbooks_seed()
        alert_mappings_seed()
        lab_connectors_seed()
        groups_seed()
        schedules_seed()
