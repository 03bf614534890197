"""AutoRemediationPolicy: what each category lets the engine do, and when."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxValueValidator,
    MinValueValidator,
    validate_email,
)
from django.db import models

from policies.categories import CategoryField
from policies.rules import (
    ACTION_TYPES,
    DAY_NAMES,
    MODE_ENFORCE,
    MODE_SHADOW,
    PLATFORMS,
    PolicyRules,
)
from policies.rules.category import is_category, normalize_category
from policies.rules.timewindow import TimeWindow

MAX_APPROVAL_TIMEOUT_MINUTES = 7 * 24 * 60


class PolicyMode(models.TextChoices):
    ENFORCE = MODE_ENFORCE, "Enforce: decisions are carried out"
    SHADOW = MODE_SHADOW, "Shadow: decide and report, never execute"


def _default_action_types() -> list[str]:
    return ["safe_write"]


def _default_days() -> list[str]:
    return list(DAY_NAMES)


def _default_systems() -> list[str]:
    return list(PLATFORMS)


def _default_forbidden() -> list[str]:
    return ["delete", "format", "shutdown"]


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


class AutoRemediationPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    category = CategoryField(
        unique=True,
        help_text="The tickets' category this policy governs (stored in lowercase; tickets, "
        "pauses and alert mappings name it the same way).",
    )

    # Thresholds
    min_confidence_score = models.FloatField(
        default=0.85,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="AI confidence required, 0-1.",
    )
    min_reliability_score = models.FloatField(
        default=85.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(100.0)],
        help_text="Reliability score required, 0-100.",
    )
    min_similar_tickets = models.PositiveIntegerField(
        default=5, help_text="Similar tickets resolved successfully before this one runs alone."
    )
    min_positive_feedback_rate = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of the pattern's concluded tickets that succeeded, 0-1: the measured "
        "outcome when something ran, else a trusted person's feedback verdict.",
    )

    # Allowed actions
    allowed_action_types = models.JSONField(
        default=_default_action_types,
        blank=True,
        help_text="Any of read_only, safe_write, critical_write.",
    )
    allowed_systems = models.JSONField(
        default=_default_systems,
        blank=True,
        help_text="Platforms: vmware, kubernetes, network, storage, openstack. "
        "An empty list allows none.",
    )
    forbidden_commands = models.JSONField(
        default=_default_forbidden,
        blank=True,
        help_text="Words that must not appear in an action, its parameters or the resolution.",
    )

    # Time restrictions
    allowed_hours_start = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(23)], help_text="Local hour, 0-23."
    )
    allowed_hours_end = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(23)],
        help_text="Local hour, 0-23, exclusive. Equal to the start means all day; "
        "smaller than the start wraps midnight (22→6).",
    )
    allowed_days = models.JSONField(
        default=_default_days, blank=True, help_text="Day names; an empty list never opens."
    )
    timezone = models.CharField(
        max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Berlin."
    )

    # Approval
    requires_approval = models.BooleanField(default=True)
    auto_approve_threshold = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(100.0)],
        help_text="Auto-approve at this reliability or above. Empty: never auto-approves.",
    )
    approvers = models.JSONField(default=list, blank=True, help_text="E-mail addresses.")
    approvers_team = models.ForeignKey(
        "policies.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Its members approve this category's tickets (with the e-mail addresses "
        "above, if any). Empty: as the addresses, else the Approvers permission, say.",
    )
    required_approvals = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)]
    )
    approval_timeout_minutes = models.PositiveIntegerField(
        default=240,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_APPROVAL_TIMEOUT_MINUTES)],
    )

    # Safety
    max_actions_per_hour = models.PositiveIntegerField(default=10)
    requires_rollback_plan = models.BooleanField(default=True)
    requires_backup = models.BooleanField(default=False)
    circuit_breaker_threshold = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text="Executions of one pattern on one target within the window before automatic "
        "execution stops for that pair (a person re-arms it).",
    )
    circuit_breaker_window_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)]
    )

    # Status
    enabled = models.BooleanField(default=True)
    rollout_percentage = models.PositiveSmallIntegerField(
        default=100,
        validators=[MaxValueValidator(100)],
        help_text="Share of tickets (by a stable hash of ticket_id) that may run without approval.",
    )
    mode = models.CharField(max_length=16, choices=PolicyMode.choices, default=PolicyMode.ENFORCE)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category"]
        verbose_name = "auto-remediation policy"
        verbose_name_plural = "auto-remediation policies"
        # The database refuses out-of-range numbers too, whatever path writes the row.
        constraints = [
            models.CheckConstraint(
                condition=models.Q(allowed_hours_start__lte=23, allowed_hours_end__lte=23),
                name="policy_hours_0_23",
            ),
            models.CheckConstraint(
                condition=models.Q(min_confidence_score__gte=0, min_confidence_score__lte=1)
                & models.Q(min_positive_feedback_rate__gte=0, min_positive_feedback_rate__lte=1),
                name="policy_rates_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(min_reliability_score__gte=0, min_reliability_score__lte=100)
                & (
                    models.Q(auto_approve_threshold__isnull=True)
                    | models.Q(auto_approve_threshold__gte=0, auto_approve_threshold__lte=100)
                ),
                name="policy_scores_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(rollout_percentage__lte=100), name="policy_rollout_0_100"
            ),
            models.CheckConstraint(
                condition=models.Q(required_approvals__gte=1)
                & models.Q(approval_timeout_minutes__gte=1)
                & models.Q(approval_timeout_minutes__lte=MAX_APPROVAL_TIMEOUT_MINUTES),
                name="policy_approval_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.category})"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}

        def refuse(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        self._check_choices("allowed_action_types", self.allowed_action_types, ACTION_TYPES, refuse)
        self._check_choices("allowed_systems", self.allowed_systems, PLATFORMS, refuse)
        self._check_choices("allowed_days", self.allowed_days, DAY_NAMES, refuse)

        if not _is_str_list(self.forbidden_commands):
            refuse("forbidden_commands", "Must be a list of words.")
        elif any(not c.strip() for c in self.forbidden_commands):
            refuse("forbidden_commands", "Empty entries are not allowed.")

        for field in ("allowed_hours_start", "allowed_hours_end"):
            value = getattr(self, field)
            if value is not None and not 0 <= value <= 23:
                refuse(field, "Hours run from 0 to 23.")

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            refuse("timezone", f"Unknown time zone {self.timezone!r}; use an IANA name.")

        if not _is_str_list(self.approvers):
            refuse("approvers", "Must be a list of e-mail addresses.")
        else:
            for email in self.approvers:
                try:
                    validate_email(email)
                except ValidationError:
                    refuse("approvers", f"{email!r} is not a valid e-mail address.")
            if len(set(self.approvers)) != len(self.approvers):
                refuse("approvers", "An approver is listed twice.")
            if (
                self.approvers
                and self.required_approvals is not None
                and self.required_approvals > len(self.approvers)
            ):
                refuse(
                    "required_approvals",
                    f"Asks for {self.required_approvals} approvals but only "
                    f"{len(self.approvers)} approver(s) are listed.",
                )

        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _check_choices(field: str, value: Any, known: tuple[str, ...], refuse: Any) -> None:
        if not _is_str_list(value):
            refuse(field, f"Must be a list of: {', '.join(known)}.")
            return
        unknown = [v for v in value if v not in known]
        if unknown:
            refuse(
                field,
                f"Unknown: {', '.join(unknown)}. Known: {', '.join(known)}.",
            )

    def rules(self) -> PolicyRules:
        """The snapshot the pure decision engine reads."""
        return PolicyRules(
            name=self.name,
            category=self.category,
            min_confidence_score=self.min_confidence_score,
            min_reliability_score=self.min_reliability_score,
            min_similar_tickets=self.min_similar_tickets,
            min_positive_feedback_rate=self.min_positive_feedback_rate,
            allowed_action_types=frozenset(self.allowed_action_types),
            allowed_systems=frozenset(self.allowed_systems),
            forbidden_commands=tuple(self.forbidden_commands),
            allowed_hours_start=self.allowed_hours_start,
            allowed_hours_end=self.allowed_hours_end,
            allowed_days=frozenset(self.allowed_days),
            timezone=self.timezone,
            requires_approval=self.requires_approval,
            auto_approve_threshold=self.auto_approve_threshold,
            approvers=tuple(self.approvers),
            required_approvals=self.required_approvals,
            max_actions_per_hour=self.max_actions_per_hour,
            requires_rollback_plan=self.requires_rollback_plan,
            requires_backup=self.requires_backup,
            rollout_percentage=self.rollout_percentage,
            mode=self.mode,
        )

    def time_window(self) -> TimeWindow:
        return TimeWindow(
            start_hour=self.allowed_hours_start,
            end_hour=self.allowed_hours_end,
            days=frozenset(self.allowed_days),
            timezone=self.timezone,
        )


PAUSE_ALL = ""  # RemediationPause.category of the pause that stops every category
PAUSE_PERMISSION = "policies.pause_remediation"


class RemediationPause(models.Model):
    """The live kill switch: while a row exists, nothing is remediated automatically for its
    category (``category`` empty: every category). Read at every decision and at every
    execution claim, so it takes effect at once, without a restart; removing the row
    resumes. ``AUTO_REMEDIATION_ENABLED=false`` in the environment stays a floor the switch
    cannot lift. Written only by ``policies.services`` (audited)."""

    category = CategoryField(
        unique=True,
        blank=True,
        help_text="The category paused, as tickets name it (stored in lowercase); empty "
        "pauses every category.",
    )
    reason = models.CharField(max_length=500, help_text="Why, for the people who see it.")
    paused_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paused_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category"]
        permissions = [("pause_remediation", "Can pause and resume auto-remediation")]

    def __str__(self) -> str:
        return f"paused: {self.category or 'every category'}"

    @property
    def scope(self) -> str:
        return f"category {self.category}" if self.category else "every category"


class Team(models.Model):
    """A team that owns categories of tickets (and, optionally, systems): its members see
    its inbox items first, approve and review its tickets; a person outside every team that
    owns a ticket's category decides nothing of it (``remediation.approvals.access``). A
    category no team owns is decided as before (policy approvers, then the permission).
    Edited in the admin, audited (members included)."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField("auth.User", blank=True, related_name="remediation_teams")
    categories = models.JSONField(
        default=list,
        blank=True,
        help_text="The categories it owns, as tickets name them (stored in lowercase).",
    )
    systems = models.JSONField(
        default=list,
        blank=True,
        help_text="Optionally, the systems (affected_system) it owns, whatever their category.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Categories are one value everywhere: stored as tickets store them, whoever writes.
        if _is_str_list(self.categories):
            self.categories = sorted({normalize_category(c) for c in self.categories if c.strip()})
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()

        errors: dict[str, list[str]] = {}
        if not _is_str_list(self.categories):
            errors["categories"] = ["Must be a list of categories."]
        else:
            self.categories = sorted({normalize_category(c) for c in self.categories if c.strip()})
            bad = [c for c in self.categories if not is_category(c)]
            if bad:
                errors["categories"] = [f"Not a category: {', '.join(bad)}."]
        if not _is_str_list(self.systems):
            errors["systems"] = ["Must be a list of system names."]
        else:
            self.systems = sorted({s.strip() for s in self.systems if s.strip()})
        if errors:
            raise ValidationError(errors)
