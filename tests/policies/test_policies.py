"""The policy model, its default rows and the selectors the decision service reads."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from policies.models import AutoRemediationPolicy, PolicyMode
from policies.rules import DAY_NAMES, GlobalSettings
from policies.selectors import global_settings, policy_by_name, policy_for_category

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("category", "min_reliability", "auto_approve"),
    [
        ("cache", 75.0, 85.0),
        ("network", 85.0, 90.0),
        ("storage", 90.0, 95.0),
        ("security", 95.0, None),
    ],
)
def test_migrate_creates_each_categorys_default_policy(category, min_reliability, auto_approve):
    policy = AutoRemediationPolicy.objects.get(category=category)
    assert policy.min_reliability_score == min_reliability
    assert policy.auto_approve_threshold == auto_approve
    assert policy.enabled
    assert policy.mode == PolicyMode.ENFORCE
    assert policy.approvers == []
    assert policy.max_actions_per_hour == 10
    policy.full_clean()  # the defaults pass their own validation


def test_the_default_policies_are_conservative_for_risky_categories():
    cache, network, storage, security = (
        AutoRemediationPolicy.objects.get(category=c)
        for c in ("cache", "network", "storage", "security")
    )
    assert cache.allowed_action_types == ["safe_write"]
    assert network.allowed_action_types == ["safe_write"]
    assert (network.allowed_hours_start, network.allowed_hours_end) == (22, 6)
    assert storage.requires_backup and not cache.requires_backup
    assert "critical_write" in security.allowed_action_types
    assert security.auto_approve_threshold is None


def valid_policy(**changes: object) -> AutoRemediationPolicy:
    policy = AutoRemediationPolicy(name="db-policy", category="database")
    for key, value in changes.items():
        setattr(policy, key, value)
    return policy


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"allowed_days": "monday"}, "allowed_days"),
        ({"allowed_days": ["Monday"]}, "allowed_days"),
        ({"allowed_action_types": ["safe_write", 3]}, "allowed_action_types"),
        ({"allowed_systems": {"vmware": True}}, "allowed_systems"),
        ({"forbidden_commands": "delete"}, "forbidden_commands"),
        ({"forbidden_commands": ["delete", "  "]}, "forbidden_commands"),
        ({"approvers": "admin@company.com"}, "approvers"),
        ({"approvers": ["admin@company.com", None]}, "approvers"),
        ({"allowed_hours_start": 99}, "allowed_hours_start"),
        ({"timezone": ""}, "timezone"),
        ({"rollout_percentage": 101}, "rollout_percentage"),
        ({"approvers": ["a@company.com"], "required_approvals": 2}, "required_approvals"),
    ],
)
def test_full_clean_puts_each_error_on_its_field(changes, field):
    with pytest.raises(ValidationError) as refused:
        valid_policy(**changes).full_clean()
    assert field in refused.value.message_dict


def test_a_valid_policy_passes_full_clean():
    valid_policy(allowed_days=list(DAY_NAMES), timezone="America/New_York").full_clean()


def test_the_database_refuses_an_hour_out_of_range_whatever_writes_it():
    with pytest.raises(IntegrityError), transaction.atomic():
        valid_policy(allowed_hours_end=24).save()


def test_the_database_refuses_a_threshold_out_of_range():
    with pytest.raises(IntegrityError), transaction.atomic():
        valid_policy(auto_approve_threshold=100.5).save()


def test_the_policy_for_a_category_is_the_enabled_one():
    assert policy_for_category("cache").name == "cache-auto-remediation"
    AutoRemediationPolicy.objects.filter(category="cache").update(enabled=False)
    assert policy_for_category("cache") is None
    assert policy_by_name("cache-auto-remediation") is not None
    assert policy_for_category("no-such-category") is None


def test_rules_snapshot_carries_every_field_the_engine_reads():
    policy = AutoRemediationPolicy.objects.get(category="network")
    rules = policy.rules()
    assert rules.name == "network-auto-remediation"
    assert rules.allowed_days == frozenset(DAY_NAMES[:5])
    assert rules.auto_approve_threshold == 90.0
    assert rules.mode == "enforce"
    window = policy.time_window()
    assert (window.start_hour, window.end_hour, window.timezone) == (22, 6, "UTC")


def test_global_settings_follow_django_settings(settings):
    settings.AUTO_REMEDIATION_ENABLED = False
    settings.AUTO_REMEDIATION_MIN_RELIABILITY = 70.5
    settings.AUTO_REMEDIATION_REQUIRE_APPROVAL = False
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 3
    assert global_settings() == GlobalSettings(
        enabled=False, min_reliability=70.5, require_approval=False, max_actions_per_hour=3
    )
