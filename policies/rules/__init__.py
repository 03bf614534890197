"""Plain values shared by the policy model and the pure decision engine (no Django here).

The policies app may not import ``remediation`` (import-linter), so the names of action
types and platforms are repeated here; ``tests/remediation/decisions/test_decision.py``
asserts they stay equal to the catalogue's ``ActionType`` and ``Platform``.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTION_TYPES: tuple[str, ...] = ("read_only", "safe_write", "critical_write")
PLATFORMS: tuple[str, ...] = ("vmware", "kubernetes", "network", "storage", "openstack")
DAY_NAMES: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

MODE_ENFORCE = "enforce"
MODE_SHADOW = "shadow"


@dataclass(frozen=True)
class GlobalSettings:
    """The global switches that sit above every policy (README: Configuration)."""

    enabled: bool = True  # AUTO_REMEDIATION_ENABLED: the kill switch
    min_reliability: float = 85.0  # AUTO_REMEDIATION_MIN_RELIABILITY: floor for running unattended
    require_approval: bool = True  # AUTO_REMEDIATION_REQUIRE_APPROVAL
    max_actions_per_hour: int = 10  # AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR


@dataclass(frozen=True)
class PolicyRules:
    """A snapshot of one AutoRemediationPolicy, as the pure engine sees it."""

    name: str
    category: str
    min_confidence_score: float = 0.0
    min_reliability_score: float = 0.0
    min_similar_tickets: int = 0
    min_positive_feedback_rate: float = 0.0
    allowed_action_types: frozenset[str] = frozenset({"safe_write"})
    allowed_systems: frozenset[str] = frozenset(PLATFORMS)
    forbidden_commands: tuple[str, ...] = ()
    allowed_hours_start: int = 0
    allowed_hours_end: int = 0
    allowed_days: frozenset[str] = frozenset(DAY_NAMES)
    timezone: str = "UTC"
    requires_approval: bool = True
    auto_approve_threshold: float | None = None
    approvers: tuple[str, ...] = ()
    required_approvals: int = 1
    max_actions_per_hour: int = 10
    requires_rollback_plan: bool = True
    requires_backup: bool = False
    rollout_percentage: int = 100
    mode: str = MODE_ENFORCE
