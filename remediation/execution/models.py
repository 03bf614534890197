"""Executions, their steps, the rate-limit budget rows and circuit breakers.

Plain, indexed fields on purpose: metrics read executions by operation and outcome, counts
of rollbacks, unknown outcomes and open circuit breakers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from policies.categories import CategoryField


class ExecutionState(models.TextChoices):
    PENDING = "pending", "Pending: queued, not claimed"
    RUNNING = "running", "Running: claimed, actions in progress"
    SUCCEEDED = "succeeded", "Succeeded: every action ran and passed its post-checks"
    ROLLED_BACK = "rolled_back", "Rolled back: an action failed, what ran was undone"
    FAILED = "failed", "Failed: nothing ran, or the rollback itself failed"
    UNKNOWN = "unknown", "Unknown: a write gave no answer or the worker died; a person reconciles"
    REFUSED = "refused", "Refused at claim: a re-check failed; nothing ran"


class ExecutionVia(models.TextChoices):
    AUTO = "auto", "Auto-approved by the decision engine"
    APPROVAL = "approval", "Approved by a person"
    ADMIN = "admin", "Admin action"
    COMMAND = "command", "Management command"


class Execution(models.Model):
    ticket = models.ForeignKey(
        "remediation.Ticket", on_delete=models.PROTECT, related_name="executions"
    )
    run = models.PositiveIntegerField(help_text="1 for the first execution of the ticket")
    key = models.CharField(max_length=120, unique=True, help_text="ticket_id:run; step keys add :N")
    state = models.CharField(
        max_length=16, choices=ExecutionState.choices, default=ExecutionState.PENDING
    )
    via = models.CharField(max_length=16, choices=ExecutionVia.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    policy_name = models.CharField(max_length=100, blank=True, db_index=True)
    pattern = models.ForeignKey(
        "patterns.Pattern", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    category = CategoryField(blank=True, db_index=True)
    action_count = models.PositiveIntegerField(default=0)
    simulated = models.BooleanField(default=False, help_text="Ran against the bundled lab")
    reason = models.TextField(blank=True, help_text="Why it ended where it is")
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["ticket", "run"], name="uniq_ticket_run")]
        indexes = [models.Index(fields=["state", "claimed_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


class StepKind(models.TextChoices):
    ACTION = "action", "Action"
    ROLLBACK = "rollback", "Rollback"


class StepState(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused by the pre-check; nothing ran"
    UNKNOWN = "unknown", "Unknown outcome"
    NOTHING_TO_UNDO = "nothing_to_undo", "Irreversible: nothing to undo"


class ExecutionStep(models.Model):
    execution = models.ForeignKey(Execution, on_delete=models.PROTECT, related_name="steps")
    index = models.PositiveIntegerField(help_text="Order within the execution")
    kind = models.CharField(max_length=16, choices=StepKind.choices, db_index=True)
    operation = models.CharField(max_length=64, db_index=True)
    platform = models.CharField(max_length=16)
    target = models.CharField(max_length=200, db_index=True)
    params = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=160, unique=True)
    state = models.CharField(max_length=16, choices=StepState.choices, db_index=True)
    before = models.JSONField(null=True, blank=True, help_text="Facts read before the action")
    precheck = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    postcheck = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["execution_id", "index"]
        indexes = [
            models.Index(fields=["operation", "state"]),
            # /metrics counts steps by kind, operation and outcome from this index alone.
            models.Index(fields=["kind", "operation", "state"], name="step_kind_op_state"),
        ]

    def __str__(self) -> str:
        return f"{self.idempotency_key} {self.operation} {self.state}"


class RateBudget(models.Model):
    """One row per limit ("global", "policy:<name>"). The claim locks the rows it counts
    against, so two workers cannot both see 9 of 10 and both run."""

    scope = models.CharField(max_length=120, unique=True)

    def __str__(self) -> str:
        return self.scope


class CircuitBreaker(models.Model):
    """Open: the pattern was remediated on the target too often; automatic execution stops
    for that pair until a person re-arms it."""

    pattern = models.ForeignKey("patterns.Pattern", on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=200)
    is_open = models.BooleanField(default=True, db_index=True)
    reason = models.TextField()
    opened_at = models.DateTimeField()
    rearmed_at = models.DateTimeField(null=True, blank=True)
    rearmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pattern", "target"], name="uniq_breaker_pattern_target"
            )
        ]

    def __str__(self) -> str:
        return f"{self.target} ({'open' if self.is_open else 'closed'})"
