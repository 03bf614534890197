"""The design's Category-Specific Policies as editable defaults, as they stand after all
migrations (the migrations keep their own frozen copies; ``tests/remediation/test_seeds.py``
checks a freshly migrated database holds exactly these).

| category | min reliability | auto-approve | why                        |
| cache    | 75              | 85           | low risk, frequent         |
| network  | 85              | 90           | medium risk                |
| storage  | 90              | 95           | high risk (needs a backup) |
| security | 95              | never        | critical, always approve   |
"""

from __future__ import annotations

from typing import Any

from policies.models import AutoRemediationPolicy

ALL_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS = ALL_DAYS[:5]
ALL_PLATFORMS = ["vmware", "kubernetes", "network", "storage", "openstack"]
# Forbidden words are matched against each operation's name and catalogue summary too, so
# they forbid whole operations: "delete" forbids restart_pod ("Delete the pod so its
# controller recreates it") and "shutdown" forbids restart_interface ("shutdown / no
# shutdown"). The design's example list suits security; the others keep their everyday
# operations and forbid what would wipe or reload a system.
SEED_FORBIDDEN = ["delete", "format", "shutdown"]

DEFAULT_POLICIES: list[dict[str, Any]] = [
    {
        "name": "cache-auto-remediation",
        "category": "cache",
        "min_confidence_score": 0.75,
        "min_reliability_score": 75.0,
        "min_similar_tickets": 3,
        "min_positive_feedback_rate": 0.8,
        "allowed_action_types": ["safe_write"],
        "allowed_systems": ALL_PLATFORMS,
        "allowed_hours_start": 0,
        "allowed_hours_end": 0,  # all day: cache clears are low risk and frequent
        "allowed_days": ALL_DAYS,
        "forbidden_commands": ["format", "wipe", "destroy", "mkfs"],
        "auto_approve_threshold": 85.0,
        "requires_backup": False,
    },
    {
        "name": "network-auto-remediation",
        "category": "network",
        "min_confidence_score": 0.85,
        "min_reliability_score": 85.0,
        "min_similar_tickets": 5,
        "min_positive_feedback_rate": 0.8,
        "allowed_action_types": ["safe_write"],
        "allowed_systems": ["network"],
        "allowed_hours_start": 22,  # the design's example: nights, working days
        "allowed_hours_end": 6,
        "allowed_days": WEEKDAYS,
        "forbidden_commands": ["delete", "format", "erase", "reload"],
        "auto_approve_threshold": 90.0,
        "requires_backup": False,
    },
    {
        "name": "storage-auto-remediation",
        "category": "storage",
        "min_confidence_score": 0.9,
        "min_reliability_score": 90.0,
        "min_similar_tickets": 5,
        "min_positive_feedback_rate": 0.85,
        # Every storage operation in the catalogue is critical_write (volumes cannot shrink,
        # deleted snapshots are gone): allowing it lets them be proposed, and a person always
        # approves a critical action, after the backup check.
        "allowed_action_types": ["safe_write", "critical_write"],
        "allowed_systems": ["storage", "vmware", "openstack"],
        "allowed_hours_start": 22,
        "allowed_hours_end": 6,
        "allowed_days": ALL_DAYS,
        "forbidden_commands": ["format", "wipe", "mkfs", "destroy"],
        "auto_approve_threshold": 95.0,
        "requires_backup": True,
    },
    {
        "name": "security-auto-remediation",
        "category": "security",
        "min_confidence_score": 0.95,
        "min_reliability_score": 95.0,
        "min_similar_tickets": 10,
        "min_positive_feedback_rate": 0.9,
        # Every risk class may be proposed, because a person approves every one of them.
        "allowed_action_types": ["read_only", "safe_write", "critical_write"],
        "allowed_systems": ALL_PLATFORMS,
        "allowed_hours_start": 0,
        "allowed_hours_end": 0,
        "allowed_days": ALL_DAYS,
        "forbidden_commands": SEED_FORBIDDEN,
        "auto_approve_threshold": None,  # never auto-approves
        "requires_backup": False,
    },
]

POLICY_COMMON: dict[str, Any] = {
    "timezone": "UTC",
    "requires_approval": True,
    "approvers": [],
    "required_approvals": 1,
    "approval_timeout_minutes": 240,
    "max_actions_per_hour": 10,
    "requires_rollback_plan": True,
    "enabled": True,
    "rollout_percentage": 100,
    "mode": "enforce",
}


def default_policies_seed() -> None:
    """Each default policy, created unless its category or its name already has one (an
    admin's own policy stays)."""
    for row in DEFAULT_POLICIES:
        if AutoRemediationPolicy.objects.filter(category=row["category"]).exists():
            continue
        if AutoRemediationPolicy.objects.filter(name=row["name"]).exists():
            continue
        AutoRemediationPolicy.objects.create(**POLICY_COMMON, **row)
