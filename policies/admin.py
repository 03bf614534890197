"""Editing policies in the admin: JSON lists become checkboxes and comma-separated fields;
every change is audited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from policies.categories import category_uses, known_categories
from policies.models import PAUSE_PERMISSION, AutoRemediationPolicy, RemediationPause, Team
from policies.rules import ACTION_TYPES, DAY_NAMES, PLATFORMS
from policies.rules.category import is_category, normalize_category
from policies.services import remediation_pause, remediation_resume
from remediation.audit.admin import AuditedAdminMixin, audit_config_change


class CommaSeparatedListField(forms.CharField):
    """A list of strings typed as "a, b, c"; blanks are dropped."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        # The length limit is on the typed text; the base validators only see the list.
        if self.max_length is not None and len(text) > self.max_length:
            raise forms.ValidationError(
                f"Ensure this value has at most {self.max_length} characters (it has {len(text)}).",
                code="max_length",
            )
        return [part.strip() for part in text.split(",") if part.strip()]


def _checkboxes(choices: tuple[str, ...], label: str) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        choices=[(c, c.replace("_", " ").capitalize()) for c in choices],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label=label,
    )


class AutoRemediationPolicyForm(forms.ModelForm):
    allowed_action_types = _checkboxes(ACTION_TYPES, "Allowed action types")
    allowed_systems = _checkboxes(PLATFORMS, "Allowed systems (platforms)")
    allowed_days = _checkboxes(DAY_NAMES, "Allowed days")
    forbidden_commands = CommaSeparatedListField(
        required=False,
        max_length=2000,
        help_text="Comma-separated words refused anywhere in an action or the resolution.",
    )
    approvers = CommaSeparatedListField(
        required=False, max_length=4000, help_text="Comma-separated e-mail addresses."
    )

    class Meta:
        model = AutoRemediationPolicy
        fields = (
            "name",
            "category",
            "min_confidence_score",
            "min_reliability_score",
            "min_similar_tickets",
            "min_positive_feedback_rate",
            "allowed_action_types",
            "allowed_systems",
            "forbidden_commands",
            "allowed_hours_start",
            "allowed_hours_end",
            "allowed_days",
            "timezone",
            "requires_approval",
            "auto_approve_threshold",
            "approvers",
            "approvers_team",
            "required_approvals",
            "approval_timeout_minutes",
            "max_actions_per_hour",
            "requires_rollback_plan",
            "requires_backup",
            "circuit_breaker_threshold",
            "circuit_breaker_window_minutes",
            "enabled",
            "mode",
            "rollout_percentage",
        )


@admin.register(AutoRemediationPolicy)
class AutoRemediationPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Every add, change and delete is written to the audit trail with each changed field."""

    form = AutoRemediationPolicyForm
    list_display = (
        "name",
        "category",
        "enabled",
        "mode",
        "min_reliability_score",
        "auto_approve_threshold",
        "rollout_percentage",
        "max_actions_per_hour",
        "updated_at",
    )
    list_filter = ("enabled", "mode", "requires_approval", "requires_backup")
    search_fields = ("name", "category")
    readonly_fields = ("created_at", "updated_at", "what_if")
    fieldsets = (
        (None, {"fields": ("name", "category")}),
        (
            "Thresholds",
            {
                "fields": (
                    "min_confidence_score",
                    "min_reliability_score",
                    "min_similar_tickets",
                    "min_positive_feedback_rate",
                )
            },
        ),
        (
            "Allowed actions",
            {"fields": ("allowed_action_types", "allowed_systems", "forbidden_commands")},
        ),
        (
            "Time restrictions",
            {
                "fields": ("allowed_hours_start", "allowed_hours_end", "allowed_days", "timezone"),
                "description": "Local hours [start, end) in the policy's time zone. Start equal "
                "to end means all day; start after end wraps midnight (22→6), and the hours "
                "after midnight belong to the day the window opened.",
            },
        ),
        (
            "Approval",
            {
                "fields": (
                    "requires_approval",
                    "auto_approve_threshold",
                    "approvers",
                    "approvers_team",
                    "required_approvals",
                    "approval_timeout_minutes",
                )
            },
        ),
        (
            "Safety",
            {
                "fields": (
                    "max_actions_per_hour",
                    "requires_rollback_plan",
                    "requires_backup",
                    "circuit_breaker_threshold",
                    "circuit_breaker_window_minutes",
                )
            },
        ),
        ("Status", {"fields": ("enabled", "mode", "rollout_percentage")}),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
        ("What if", {"fields": ("what_if",)}),
    )

    def save_model(
        self, request: HttpRequest, obj: AutoRemediationPolicy, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        others = [u for u in category_uses(obj.category) if not u.startswith("policy ")]
        if not others:
            # A policy for a category nothing else names governs no ticket yet: a typo
            # ("netwrok") would leave the real category without its policy.
            self.message_user(
                request,
                f"No ticket, alert mapping, runbook or platform names category "
                f"{obj.category!r} yet: this policy governs no ticket until one does. "
                f"Known categories: {', '.join(known_categories()) or 'none'}.",
                messages.WARNING,
            )

    @admin.display(description="Policy what-if")
    def what_if(self, obj: AutoRemediationPolicy | None) -> str:
        if obj is None or obj.pk is None:
            return "Save the policy first; then replay its recent decisions with changes."
        # By URL name: the page lives with the decisions it replays (it reads tickets).
        url = reverse("policy_whatif", args=[obj.pk])
        return format_html(
            '<a href="{}">Replay the recent decisions with changed settings</a> '
            "(read-only; nothing is saved or executed)",
            url,
        )


class RemediationPauseForm(forms.ModelForm):
    allow_unknown_category = forms.BooleanField(
        required=False,
        label="Pause it even if nothing names this category yet",
        help_text="A category no policy, alert mapping, runbook, ticket or execution names "
        "is refused otherwise: a typo would stop nothing.",
    )

    class Meta:
        model = RemediationPause
        fields = ("category", "reason")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        category = normalize_category(data.get("category") or "")
        if (
            is_category(category)  # else the field's own validation says what is wrong
            and not data.get("allow_unknown_category")
            and not category_uses(category)
        ):
            self.add_error(
                "category",
                f"Nothing names category {category!r}, so this pause would stop nothing. "
                f"Known: {', '.join(known_categories()) or 'none'}.",
            )
        return data


@admin.register(RemediationPause)
class RemediationPauseAdmin(admin.ModelAdmin):
    """The live kill switch in the admin: adding a pause stops auto-remediation for its
    category (empty: every category) at the next decision and execution claim; deleting it
    resumes. Both through ``policies.services`` (audited). A pause is not edited: resume
    and pause again. Needs ``policies.pause_remediation``."""

    form = RemediationPauseForm
    list_display = ("scope_shown", "reason", "paused_by", "paused_at")
    fields = ("category", "reason", "allow_unknown_category")
    readonly_fields = ("paused_by", "paused_at")

    @admin.display(description="Paused for")
    def scope_shown(self, obj: RemediationPause) -> str:
        return obj.scope

    def _may(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(PAUSE_PERMISSION))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request) or super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: RemediationPause, form: Any, change: bool
    ) -> None:
        result = remediation_pause(
            category=obj.category,
            reason=obj.reason,
            user=request.user,  # type: ignore[arg-type]
        )
        obj.pk = result.pause.pk

    def delete_model(self, request: HttpRequest, obj: RemediationPause) -> None:
        remediation_resume(category=obj.category, user=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for pause in queryset:
            self.delete_model(request, pause)


class TeamForm(forms.ModelForm):
    categories = CommaSeparatedListField(
        required=False,
        max_length=2000,
        help_text="Comma-separated categories it owns, as tickets name them.",
    )
    systems = CommaSeparatedListField(
        required=False,
        max_length=4000,
        help_text="Optionally, comma-separated systems (a ticket's affected system) it owns.",
    )

    class Meta:
        model = Team
        fields = ("name", "members", "categories", "systems")


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Teams: who owns which categories (and systems). Every add, change and delete is
    audited (``config.changed``), members included: a change of members is written with
    the members before and after."""

    form = TeamForm
    filter_horizontal = ("members",)
    list_display = ("name", "categories_shown", "members_shown", "updated_at")
    search_fields = ("name",)

    @admin.display(description="Categories")
    def categories_shown(self, obj: Team) -> str:
        return ", ".join(obj.categories or []) or "none"

    @admin.display(description="Members")
    def members_shown(self, obj: Team) -> str:
        return ", ".join(sorted(u.get_username() for u in obj.members.all())) or "nobody"

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("members")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        team = form.instance
        before = sorted(u.get_username() for u in team.members.all()) if change else []
        super().save_related(request, form, formsets, change)
        after = sorted(u.get_username() for u in team.members.all())
        if before != after:
            audit_config_change(
                request,
                team,
                verb="changed",
                changes={"members": [", ".join(before), ", ".join(after)]},
            )
