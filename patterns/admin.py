"""Admin for learned patterns.

Every statistic is read-only: the numbers come from events, and ``manage.py
recompute_patterns`` rebuilds them. What an admin decides is whether a pattern may ever
count as eligible (``enabled``) and when a flagged disagreement was reviewed; both are
written to the audit trail in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from patterns.models import Pattern
from patterns.services import PatternChange, enabled_set, pattern_update, review_cleared
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.rules import percent


@admin.register(Pattern)
class PatternAdmin(admin.ModelAdmin):
    list_display = [
        "signature",
        "category",
        "occurrence_count",
        "positive_outcome_rate",
        "positive_feedback_rate",
        "avg_reliability_score",
        "outcome_success_rate",
        "rejection_count",
        "eligible_for_auto_remediation",
        "enabled",
        "needs_review",
        "last_seen_at",
    ]
    list_filter = ["category", "eligible_for_auto_remediation", "enabled", "needs_review"]
    empty_value_display = "no data"  # a rate with nothing to divide by (remediation.rules)
    search_fields = ["signature", "hash"]
    actions = ["disable_patterns", "enable_patterns", "clear_review"]

    @admin.display(description="Outcome success rate")
    def outcome_success_rate(self, obj: Pattern) -> str:
        return percent(obj.outcome_success_rate)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Pattern._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Tickets and audit events point at patterns; the history stays whole.
        return False

    def _set_enabled(
        self, request: HttpRequest, queryset: QuerySet[Pattern], enabled: bool
    ) -> None:
        changed = 0
        verb = "enabled" if enabled else "disabled"
        for pattern in queryset.order_by("id"):
            if pattern.enabled == enabled:
                continue
            with transaction.atomic():
                _act(request, pattern, verb, enabled_set(enabled), {"enabled": enabled})
                self.log_change(request, pattern, f"{verb.capitalize()} pattern")
            changed += 1
        self.message_user(request, f"{changed} pattern(s) {verb}.", messages.SUCCESS)

    @admin.action(
        description="Disable: never eligible for auto-remediation", permissions=["change"]
    )
    def disable_patterns(self, request: HttpRequest, queryset: QuerySet[Pattern]) -> None:
        self._set_enabled(request, queryset, False)

    @admin.action(
        description="Enable: eligible again when its statistics qualify", permissions=["change"]
    )
    def enable_patterns(self, request: HttpRequest, queryset: QuerySet[Pattern]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(
        description="Reviewed: clear the disagreement flag (eligible again if it qualifies)",
        permissions=["change"],
    )
    def clear_review(self, request: HttpRequest, queryset: QuerySet[Pattern]) -> None:
        cleared = 0
        for pattern in queryset.filter(needs_review=True).order_by("id"):
            with transaction.atomic():
                _act(request, pattern, "reviewed", review_cleared, {"needs_review": False})
            cleared += 1
        self.message_user(request, f"{cleared} pattern(s) marked reviewed.", messages.SUCCESS)


def _act(
    request: HttpRequest,
    pattern: Pattern,
    verb: str,
    change: PatternChange,
    details: dict[str, Any],
) -> None:
    """An admin's act on a pattern: audited first, then applied (with the eligibility flip
    it causes, if any, audited by ``pattern_update``)."""
    user: User = request.user  # type: ignore[assignment]
    audit(
        AuditAction.PATTERN_ELIGIBILITY_CHANGED,
        f"Pattern {pattern.signature} {verb} by {user.get_username()}",
        pattern=pattern,
        acting_user=user,
        details={"pattern": pattern.hash, **details},
    )
    pattern_update(pattern, change, acting_user=user)
