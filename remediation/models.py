"""Tickets, their audit trail, runbooks and the per-category rollups used for scoring."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from remediation import lifecycle


class TicketStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    ANALYZED = "analyzed", "Analyzed"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    REMEDIATING = "remediating", "Remediating"
    RESOLVED = "resolved", "Resolved"
    PARTIALLY_REMEDIATED = "partially_remediated", "Partially remediated"
    FAILED = "failed", "Failed"
    MANUAL_REVIEW = "manual_review", "Manual review"


class TicketOutcome(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


def _allowed_states_q() -> models.Q:
    q = models.Q()
    for status, outcome, executed in lifecycle.allowed_combinations():
        q |= models.Q(status=status, outcome=outcome, auto_remediation_executed=executed)
    return q


def _has_state(ticket: Any) -> bool:
    # A deferred-field load (.only()) may lack some of the three.
    loaded = ticket.__dict__
    return all(k in loaded for k in ("status", "outcome", "auto_remediation_executed"))


class Ticket(models.Model):
    ticket_id = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField()
    category = models.CharField(max_length=50, db_index=True)
    affected_system = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    source = models.CharField(max_length=64, default="api")

    status = models.CharField(
        max_length=24, choices=TicketStatus.choices, default=TicketStatus.PROCESSING
    )
    status_reason = models.TextField(blank=True, help_text="Why the ticket is where it is.")
    outcome = models.CharField(
        max_length=16, choices=TicketOutcome.choices, default=TicketOutcome.UNKNOWN
    )

    # Analysis
    analyzer = models.CharField(max_length=32, blank=True)
    resolution = models.TextField(blank=True)
    suggested_actions = models.JSONField(default=list, blank=True)
    dropped_actions = models.JSONField(
        default=list, blank=True, help_text="Suggestions refused by the catalogue, with reasons."
    )
    confidence_score = models.FloatField(default=0.0)
    diagnosis = models.JSONField(
        null=True,
        blank=True,
        help_text="The analysis's diagnosis: cause, evidence quoted from the ticket, what was "
        "ruled out, whether a person is needed and why.",
    )
    analyzed_at = models.DateTimeField(null=True, blank=True)

    # Scoring and learning
    reliability_score = models.FloatField(null=True, blank=True)
    reliability_breakdown = models.JSONField(null=True, blank=True)
    pattern = models.ForeignKey(
        "patterns.Pattern", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )

    # Decision and execution
    auto_remediation_enabled = models.BooleanField(default=False)
    auto_remediation_executed = models.BooleanField(default=False)
    remediation_decision = models.JSONField(null=True, blank=True)
    decision_mode = models.CharField(
        max_length=16, blank=True, help_text="enforce, or shadow: decided but never executed"
    )
    decision_policy = models.CharField(max_length=100, blank=True, db_index=True)
    decision_facts = models.JSONField(
        null=True,
        blank=True,
        help_text="The decision's inputs as they stood (settings, pattern, safety checks), "
        "so a policy what-if can replay it; empty on tickets decided before it was stored.",
    )
    remediation_started_at = models.DateTimeField(null=True, blank=True, db_index=True)
    remediation_results = models.JSONField(null=True, blank=True)

    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submitted_tickets"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    needs_review = models.BooleanField(
        default=False,
        help_text="Trusted feedback disagreed with the measured or confirmed outcome.",
    )
    # The state as last read from or written to the database (see save()).
    _stored_state: lifecycle.State | None = None

    # Storm control and alerts (remediation.alerts): incidents that joined this ticket, and
    # when every alert behind it resolved by itself (cleared when one fires again).
    repeat_count = models.PositiveIntegerField(default=0)
    last_repeat_at = models.DateTimeField(null=True, blank=True)
    alert_resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["category", "created_at"]),
            models.Index(fields=["status", "created_at"]),
            # /metrics counts executed tickets by outcome at every scrape: this partial index
            # holds only executed tickets, so the count never reads the whole table.
            models.Index(
                fields=["outcome"],
                condition=models.Q(auto_remediation_executed=True),
                name="ticket_executed_outcome_idx",
            ),
            # The ticket list filtered by both, newest first, read by keyset.
            models.Index(
                fields=["category", "status", "created_at"], name="ticket_cat_status_created"
            ),
        ]
        permissions = [("approve_remediation", "Can approve remediation")]
        constraints = [
            # The state machine's table (remediation.lifecycle.ALLOWED), enforced by the
            # database too: no code path can store resolved+failure or analyzed+success.
            models.CheckConstraint(condition=_allowed_states_q(), name="ticket_state_allowed")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse a state outside the lifecycle table, or a step it does not allow from
        the state this instance was loaded with. Status writes go through
        ``remediation.transitions.ticket_transition``; this is the backstop."""
        new = self.state
        old = getattr(self, "_stored_state", None)
        if old is not None:
            lifecycle.check_transition(old, new)
        else:
            lifecycle.check_state(new)
        super().save(*args, **kwargs)
        self._stored_state = new

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> Ticket:
        instance = super().from_db(*args, **kwargs)
        instance._stored_state = instance.state if _has_state(instance) else None
        return instance

    @property
    def state(self) -> lifecycle.State:
        return lifecycle.State(
            str(self.status), str(self.outcome), bool(self.auto_remediation_executed)
        )


class AuditAction(models.TextChoices):
    TICKET_CREATED = "ticket.created", "Ticket created"
    ANALYSIS_COMPLETED = "analysis.completed", "Analysis completed"
    ANALYSIS_FAILED = "analysis.failed", "Analysis failed"
    SCORED = "ticket.scored", "Reliability scored"
    DECISION_MADE = "decision.made", "Decision made"
    STATUS_CHANGED = "ticket.status_changed", "Status changed"
    FEEDBACK_SUBMITTED = "feedback.submitted", "Feedback submitted"
    OUTCOME_CHANGED = "ticket.outcome_changed", "Outcome changed"
    PATTERN_ELIGIBILITY_CHANGED = "pattern.eligibility_changed", "Pattern eligibility changed"
    RUNBOOK_LEARNED = "runbook.learned", "Runbook learned from feedback"
    RUNBOOK_ACTIVATED = "runbook.activated", "Learned runbook activated"
    FEEDBACK_DISAGREES = "feedback.disagrees", "Feedback disagrees with the outcome"
    CONFIG_CHANGED = "config.changed", "Configuration changed"
    REPEAT_JOINED = "storm.repeat_joined", "Repeat joined the ticket"
    ALERT_RESOLVED = "alert.resolved", "Alert resolved"
    ALERT_FIRING = "alert.firing_again", "Alert firing again"
    EXECUTION_REQUESTED = "execution.requested", "Execution requested"
    EXECUTION_CLAIMED = "execution.claimed", "Execution claimed (intent to act)"
    EXECUTION_REFUSED = "execution.refused", "Execution refused at claim"
    STEP_PRECHECKED = "execution.step_prechecked", "Step pre-checked"
    STEP_EXECUTED = "execution.step_executed", "Step executed"
    STEP_VERIFIED = "execution.step_verified", "Step post-checked"
    STEP_FAILED = "execution.step_failed", "Step failed"
    ROLLBACK_STEP = "execution.rollback_step", "Rollback step"
    EXECUTION_FINISHED = "execution.finished", "Execution finished"
    EXECUTION_UNKNOWN = "execution.unknown", "Execution outcome unknown"
    EXECUTION_RECONCILED = "execution.reconciled", "Execution reconciled by a person"
    CIRCUIT_OPENED = "circuit.opened", "Circuit breaker opened"
    CIRCUIT_REARMED = "circuit.rearmed", "Circuit breaker re-armed"
    ADMINS_NOTIFIED = "admins.notified", "Administrators notified"
    APPROVAL_REQUESTED = "approval.requested", "Approval requested"
    APPROVAL_GRANTED = "approval.granted", "Approval given"
    APPROVAL_REJECTED = "approval.rejected", "Approval refused"
    APPROVAL_EXPIRED = "approval.expired", "Approval request expired"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit events are append-only")


class AuditEvent(models.Model):
    """One line of the audit trail. Append-only: written in the same transaction as the
    change it records, never updated or deleted (the model refuses, and on PostgreSQL a
    trigger does too)."""

    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    pattern = models.ForeignKey(
        "patterns.Pattern", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text="username, or 'system'")
    action = models.CharField(max_length=64, choices=AuditAction.choices)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    # Set by ``remediation.audit`` before the row is hashed (not auto_now_add, which would
    # change it after hashing).
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The hash chain (see remediation/audit.py): each row's HMAC covers its content and the
    # previous row's hash in the same stream (the ticket's, the pattern's, or "system").
    stream = models.CharField(max_length=64, blank=True, db_index=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        # /metrics counts events of one kind (e.g. analysis failures) without reading the
        # whole trail.
        indexes = [models.Index(fields=["action", "created_at"], name="audit_action_created_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.message}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit events are append-only")


class RunbookSource(models.TextChoices):
    SEED = "seed", "Shipped with the system"
    ADMIN = "admin", "Written by an admin"
    FEEDBACK = "feedback", "Learned from feedback"


class Runbook(models.Model):
    """What the local analyzer knows: symptoms that call for a catalogue operation."""

    name = models.CharField(max_length=120, unique=True)
    operation = models.CharField(max_length=64, help_text="A key of the action catalogue")
    category = models.CharField(
        max_length=50, blank=True, help_text="Only for tickets of this category; blank for any"
    )
    symptoms = models.TextField(help_text="One symptom phrase per line")
    resolution = models.TextField()
    params = models.JSONField(
        default=dict, blank=True, help_text="Default parameters besides the target"
    )
    source = models.CharField(
        max_length=16, choices=RunbookSource.choices, default=RunbookSource.ADMIN
    )
    learned_from = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Learned runbooks apply to the one pattern that taught them, never to a category.
    pattern = models.ForeignKey(
        "patterns.Pattern",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="learned_runbooks",
        help_text="Learned runbooks apply only to tickets of this pattern.",
    )
    taught_by = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="taught_runbooks",
        help_text="Trusted people whose feedback taught this fix.",
    )
    enabled = models.BooleanField(
        default=True,
        help_text="Learned runbooks start disabled: an admin enables them after review, "
        "or two distinct trusted people teaching the same fix do.",
    )
    fixes_causes = models.TextField(
        blank=True,
        help_text="Cause keys this runbook's action fixes, one per line (see docs/analysis.md); "
        "blank: the catalogue's default for the operation. The action is proposed only for these.",
    )
    not_for_causes = models.TextField(
        blank=True,
        help_text="Cause keys where this action does not help or harms, one per line. Added to "
        "the catalogue's own list, which always applies.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["pattern", "operation"],
                condition=models.Q(source="feedback"),
                name="uniq_learned_runbook_pattern_operation",
            ),
            models.CheckConstraint(
                condition=~models.Q(source="feedback") | models.Q(pattern__isnull=False),
                name="learned_runbook_has_pattern",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def symptom_list(self) -> list[str]:
        return [line.strip() for line in self.symptoms.splitlines() if line.strip()]

    @property
    def fixes_cause_list(self) -> list[str]:
        return [line.strip() for line in self.fixes_causes.splitlines() if line.strip()]

    @property
    def not_for_cause_list(self) -> list[str]:
        return [line.strip() for line in self.not_for_causes.splitlines() if line.strip()]


class CategoryDailyStats(models.Model):
    """One row per category per day: the rollup the reliability score reads.

    Kept up to date in the same transaction as each event that changes it, so scoring a
    ticket reads at most a bounded window of rows, whatever the history size.
    """

    category = models.CharField(max_length=50)
    day = models.DateField()
    tickets = models.PositiveIntegerField(default=0)
    success_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    feedback_count = models.PositiveIntegerField(default=0)
    positive_count = models.PositiveIntegerField(default=0)
    negative_count = models.PositiveIntegerField(default=0)
    neutral_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    confidence_sum = models.FloatField(default=0.0)
    reliability_sum = models.FloatField(default=0.0)
    reliability_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "day"], name="uniq_category_day")
        ]
        ordering = ["category", "day"]

    def __str__(self) -> str:
        return f"{self.category} {self.day}"


# Models kept in their own modules (alerts, approvals, connectors, execution); importing them here
# registers them with the remediation app.
from remediation.alerts.models import (  # noqa: E402
    AlertMapping,
    AlertRecord,
    AlertStatus,
    RepeatReason,
    StormTrack,
    TicketRepeat,
)
from remediation.approvals.models import (  # noqa: E402
    ApprovalDecision,
    ApprovalRequest,
    RejectedOperation,
)
from remediation.connectors.models import PlatformConnector  # noqa: E402
from remediation.execution.models import (  # noqa: E402
    CircuitBreaker,
    Execution,
    ExecutionStep,
    RateBudget,
)
from remediation.notifications.models import AdminNotice  # noqa: E402

__all__ = [
    "AdminNotice",
    "AlertMapping",
    "AlertRecord",
    "AlertStatus",
    "ApprovalDecision",
    "ApprovalRequest",
    "AuditAction",
    "AuditEvent",
    "CategoryDailyStats",
    "CircuitBreaker",
    "Execution",
    "ExecutionStep",
    "PlatformConnector",
    "RateBudget",
    "RejectedOperation",
    "RepeatReason",
    "Runbook",
    "RunbookSource",
    "Severity",
    "StormTrack",
    "Ticket",
    "TicketOutcome",
    "TicketRepeat",
    "TicketStatus",
]
