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
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from patterns.models import Pattern
from patterns.services import (
    PatternChange,
    eligibility_unmet,
    enabled_set,
    pattern_update,
    review_cleared,
)
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.rules import percent


@admin.register(Pattern)
class PatternAdmin(admin.ModelAdmin):
    # Narrow enough for a 1280 px screen with the eligibility and its reasons in view; the
    # rest (feedback rate, rejections, shadow agreement) is on each pattern's page.
    # The admin's navigation sidebar is left out of this list (``changelist_view``), and the
    # headers are short.
    list_display = [
        "short_signature",
        "category",
        "seen",
        "positive_outcomes",
        "reliability",
        "outcome_success_rate",
        "eligible",
        "why_not_eligible",  # says "disabled by an administrator" when it is
    ]
    list_filter = ["category", "eligible_for_auto_remediation", "enabled", "needs_review"]
    empty_value_display = "no data"  # a rate with nothing to divide by (remediation.rules)
    search_fields = ["signature", "hash"]
    actions = ["disable_patterns", "enable_patterns", "clear_review"]

    @admin.display(description="Outcome success rate")
    def outcome_success_rate(self, obj: Pattern) -> str:
        return percent(obj.outcome_success_rate)

    @admin.display(description="Seen", ordering="occurrence_count")
    def seen(self, obj: Pattern) -> int:
        return obj.occurrence_count

    @admin.display(description="Positive", ordering="positive_outcome_rate")
    def positive_outcomes(self, obj: Pattern) -> str:
        return percent(obj.shown_rates()["positive_outcome_rate"])

    @admin.display(description="Reliability", ordering="avg_reliability_score")
    def reliability(self, obj: Pattern) -> str:
        return f"{obj.avg_reliability_score:.1f}" if obj.reliability_count else "no data"

    @admin.display(description="Eligible", boolean=True, ordering="eligible_for_auto_remediation")
    def eligible(self, obj: Pattern) -> bool:
        return obj.eligible_for_auto_remediation

    class Media:
        css = {"all": ["patterns/admin.css"]}

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        # Without the navigation sidebar the columns, eligibility and why included, fit a
        # 1280 px screen beside the filters.
        context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    @admin.display(description="Signature", ordering="signature")
    def short_signature(self, obj: Pattern) -> str:
        return obj.signature if len(obj.signature) <= 20 else f"{obj.signature[:19]}…"

    @admin.display(description="Why not eligible")
    def why_not_eligible(self, obj: Pattern) -> str:
        unmet = eligibility_unmet(obj)
        if not unmet:
            return "—"
        return format_html_join(mark_safe("<br>"), "{}", ((reason,) for reason in unmet))

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
