"""Tickets, their audit trail, runbooks and the per-category rollups used for scoring."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["category", "created_at"]),
            models.Index(fields=["status", "created_at"]),
            # The ticket list filtered by both, newest first, read by keyset.
            models.Index(
                fields=["category", "status", "created_at"], name="ticket_cat_status_created"
            ),
        ]
        permissions = [("approve_remediation", "Can approve remediation")]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.title}"


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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

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
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def symptom_list(self) -> list[str]:
        return [line.strip() for line in self.symptoms.splitlines() if line.strip()]


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
