"""Tickets, the per-category daily counters the score reads, and storm control's rows."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from policies.categories import CategoryField
from remediation.tickets.rules import lifecycle


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


class FixEvidence(models.TextChoices):
    """What confirmed that a measured fix held."""

    ALERT_RESOLVED = "alert_resolved", "Its alert resolved after the remediation"
    RECHECK = "recheck", "Nothing came back within the hold time"


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


class CategorySource(models.TextChoices):
    """Where a ticket's category came from."""

    GIVEN = "given", "Given by the submitter (or an alert's category label)"
    ALERT_DEFAULT = "alert_default", "The alert mapping's default: the alert named none"
    DIAGNOSIS = "diagnosis", "The platform the diagnosis observed the cause on"


class Ticket(models.Model):
    ticket_id = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField()
    category = CategoryField(db_index=True)
    # An alert that names no category gets its mapping's default (``alert_default``); the
    # analysis then files it under the category of the platform it observed the cause on
    # (``diagnosis``, audited), once. A category a submitter gave is never changed.
    category_source = models.CharField(
        max_length=16,
        choices=CategorySource.choices,
        default=CategorySource.GIVEN,
        db_default=CategorySource.GIVEN,
    )
    affected_system = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    source = models.CharField(max_length=64, default="api")
    # The labels of the alert that opened the ticket, as the Alertmanager intake received
    # them: the data the investigation reads an alert's objects from. Only the alert intake
    # writes it; a ticket from the ticket API has none, whatever its source or text says.
    alert_labels = models.JSONField(default=dict, blank=True, db_default={})

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
    investigation = models.JSONField(
        null=True,
        blank=True,
        help_text="What was looked at before the analysis, through read-only tools: each "
        "call, its answer or error, when, and the outcome (complete, partial, failed, "
        "not_found, skipped).",
    )
    analyzed_at = models.DateTimeField(null=True, blank=True)

    # Scoring and learning
    reliability_score = models.FloatField(null=True, blank=True)
    # The score the decision saw. ``reliability_score`` is re-scored when trusted feedback
    # arrives (after the outcome); calibration checks the prediction as it was made.
    decided_reliability_score = models.FloatField(
        null=True,
        blank=True,
        help_text="The reliability score when the decision was made (reliability_score is "
        "re-scored after trusted feedback).",
    )
    decided_probability = models.FloatField(
        null=True,
        blank=True,
        help_text="The calibrated probability (0-1) that the fix succeeds and holds, from the "
        "stored calibration fit, when the decision was made.",
    )
    decided_gate_reliability = models.FloatField(
        null=True,
        blank=True,
        help_text="The number (0-100) the policy's reliability thresholds were held against: "
        "the calibrated probability x 100 where a fit gave one, else the score.",
    )
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
    # When a fix measured by an execution was confirmed to hold (nothing came back within
    # OUTCOME_HOLD_SECONDS); empty until then, and for fixes a person confirmed.
    fix_held_at = models.DateTimeField(null=True, blank=True)
    # What confirmed it: the environment (its alert resolved after the remediation started)
    # or the delayed re-check at the end of the hold time.
    fix_held_by = models.CharField(max_length=20, choices=FixEvidence.choices, blank=True)
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
            # A pattern's latest scored, concluded tickets (its average reliability): read
            # newest first, ten per pattern, not the whole history (patterns.services).
            models.Index(
                fields=["pattern", "-id"],
                condition=models.Q(
                    outcome__in=["success", "failure"], reliability_score__isnull=False
                ),
                name="ticket_pattern_scored_recent",
            ),
        ]
        permissions = [("approve_remediation", "Can approve remediation")]
        constraints = [
            # The state machine's table (remediation.tickets.rules.lifecycle.ALLOWED), enforced
            # by the database too: no code path can store resolved+failure or analyzed+success.
            models.CheckConstraint(condition=_allowed_states_q(), name="ticket_state_allowed")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse a state outside the lifecycle table, or a step it does not allow from
        the state this instance was loaded with. Status writes go through
        ``remediation.tickets.transitions.ticket_transition``; this is the backstop."""
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


class CategoryDailyStats(models.Model):
    """One row per category per day: the rollup the reliability score reads.

    Kept up to date in the same transaction as each event that changes it, so scoring a
    ticket reads at most a bounded window of rows, whatever the history size.
    """

    category = CategoryField()
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
    # The investigations of the day's tickets (counted once, when the analysis is stored).
    investigations = models.PositiveIntegerField(default=0)
    investigations_failed = models.PositiveIntegerField(default=0)
    investigation_calls = models.PositiveIntegerField(default=0)
    investigation_call_errors = models.PositiveIntegerField(default=0)
    investigation_seconds_sum = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["category", "day"], name="uniq_category_day")
        ]
        ordering = ["category", "day"]

    def __str__(self) -> str:
        return f"{self.category} {self.day}"


class CalibrationDailyStats(models.Model):
    """One row per category, day and confidence bin: the concluded, analyzed tickets created
    that day whose confidence falls in the bin, and how many of them succeeded.

    The reliability score's AI factor reads its calibration window from here (at most one
    row per day and bin), not from the tickets, so scoring costs the same with a thousand
    tickets of history as with a million. Kept in step by ``tickets.rollups`` in the
    transaction of each change of a ticket's outcome, analyzer or confidence.
    """

    category = CategoryField()
    day = models.DateField()
    bin = models.PositiveSmallIntegerField()
    outcomes = models.IntegerField(default=0)
    successes = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["category", "day", "bin"], name="uniq_calibration_category_day_bin"
            )
        ]
        ordering = ["category", "day", "bin"]

    def __str__(self) -> str:
        return f"{self.category} {self.day} bin {self.bin}"


class StormTrack(models.Model):
    """One row per pattern + target: the lock every intake of that incident takes, the
    newest ticket for it, and the current window's ticket count."""

    key = models.CharField(max_length=64, unique=True)
    pattern_hash = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    ticket = models.ForeignKey(
        "remediation.Ticket", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    window_started_at = models.DateTimeField(null=True, blank=True)
    window_tickets = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.target or '(no target)'} {self.pattern_hash[:12]}"


class RepeatReason(models.TextChoices):
    OPEN = "open", "The ticket was still open"
    LIMIT = "limit", "Ticket limit for the window reached"


class TicketRepeat(models.Model):
    """A submission (alert or ticket) that joined an existing ticket instead of opening one."""

    ticket = models.ForeignKey(
        "remediation.Ticket", on_delete=models.PROTECT, related_name="repeats"
    )
    submitted_ticket_id = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=64)
    reason = models.CharField(max_length=16, choices=RepeatReason.choices)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.submitted_ticket_id} -> {self.ticket_id}"


class IntakeCount(models.Model):
    """How much one identity submitted in its current window of the intake rate
    (config/throttling.py): one row per identity, raised by one atomic ``INSERT … ON
    CONFLICT DO UPDATE … RETURNING`` (a new window when the last one is over), so every
    process (gunicorn workers, hosts) shares the count and a concurrent burst passes
    exactly the rate."""

    identity = models.CharField(max_length=120, unique=True)
    window_start = models.FloatField(help_text="Unix time at which the current window began.")
    n = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.identity}: {self.n}"
