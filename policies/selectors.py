"""Reads: the policy that governs a category, and the global switches above every policy."""

from __future__ import annotations

from django.conf import settings

from policies.models import PAUSE_ALL, AutoRemediationPolicy, RemediationPause
from policies.rules import GlobalSettings


def policy_for_category(category: str) -> AutoRemediationPolicy | None:
    """The enabled policy for ``category``, or None (a disabled policy counts as none).
    The category is compared normalized (``policies.categories.CategoryField``)."""
    return AutoRemediationPolicy.objects.filter(category=category, enabled=True).first()


def policy_by_name(name: str) -> AutoRemediationPolicy | None:
    """The policy a decision named (enabled or not), e.g. to find its approvers later."""
    return AutoRemediationPolicy.objects.filter(name=name).first()


def global_settings() -> GlobalSettings:
    """The global settings: kill switch, reliability floor, approval rule and global cap.

    Read on every call (not cached at import) so that tests' ``settings`` overrides and a
    reloaded configuration take effect at once.
    """
    return GlobalSettings(
        enabled=bool(settings.AUTO_REMEDIATION_ENABLED),
        min_reliability=float(settings.AUTO_REMEDIATION_MIN_RELIABILITY),
        require_approval=bool(settings.AUTO_REMEDIATION_REQUIRE_APPROVAL),
        max_actions_per_hour=int(settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR),
    )


def pause_in_force(category: str) -> RemediationPause | None:
    """The live kill switch as it stands now for ``category``: the pause of every category
    if there is one, else this category's, else None. One query; never cached. Compared
    normalized: a pause typed ``CACHE`` is the pause of ``cache``."""
    return (
        RemediationPause.objects.filter(category__in=[PAUSE_ALL, category])
        .select_related("paused_by")
        .order_by("category")
        .first()
    )


def pause_sentence(pause: RemediationPause) -> str:
    """How a decision or a refused claim names the switch."""
    who = pause.paused_by.get_username() if pause.paused_by else "an administrator"
    return f"Auto-remediation is paused for {pause.scope} by {who}: {pause.reason}"
