"""The audit trail: one append-only, hash-chained row per change (see ``services``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    TICKET_CREATED = "ticket.created", "Ticket created"
    INVESTIGATED = "analysis.investigated", "Investigated (read-only)"
    ANALYSIS_COMPLETED = "analysis.completed", "Analysis completed"
    ANALYSIS_FAILED = "analysis.failed", "Analysis failed"
    CATEGORY_DIAGNOSED = "ticket.category_diagnosed", "Category set from the diagnosis"
    SCORED = "ticket.scored", "Reliability scored"
    CALIBRATION_FITTED = "calibration.fitted", "Calibration refitted (a new version)"
    DECISION_MADE = "decision.made", "Decision made"
    STATUS_CHANGED = "ticket.status_changed", "Status changed"
    FEEDBACK_SUBMITTED = "feedback.submitted", "Feedback submitted"
    OUTCOME_CHANGED = "ticket.outcome_changed", "Outcome changed"
    FIX_HELD = "ticket.fix_held", "Fix held through the hold time"
    FIX_DID_NOT_HOLD = "ticket.fix_did_not_hold", "Fix did not hold (came back)"
    FIX_CONFIRMED_BY_ALERT = "ticket.fix_confirmed_by_alert", "Fix confirmed: its alert resolved"
    PATTERN_ELIGIBILITY_CHANGED = "pattern.eligibility_changed", "Pattern eligibility changed"
    RUNBOOK_LEARNED = "runbook.learned", "Runbook learned from feedback"
    RUNBOOK_ACTIVATED = "runbook.activated", "Learned runbook activated"
    FEEDBACK_DISAGREES = "feedback.disagrees", "Feedback disagrees with the outcome"
    CONFIG_CHANGED = "config.changed", "Configuration changed"
    REMEDIATION_PAUSED = "remediation.paused", "Remediation paused (kill switch)"
    REMEDIATION_RESUMED = "remediation.resumed", "Remediation resumed (kill switch)"
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
    CHANNELS_NOTIFIED = "channels.notified", "Chat and webhook channels notified"
    SLACK_POSTED = "slack.posted", "Approval message posted to Slack"
    SLACK_REFUSED = "slack.refused", "Slack request refused"
    SLACK_LINKED = "slack.linked", "Slack user linked by its owner"
    REVIEW_TAKEN = "review.taken", "Review taken"
    REVIEW_RUN = "review.run", "Proposal run from the review queue"
    REVIEW_CLOSED = "review.closed", "Review closed"
    APPROVAL_REQUESTED = "approval.requested", "Approval requested"
    APPROVAL_GRANTED = "approval.granted", "Approval given"
    APPROVAL_REJECTED = "approval.rejected", "Approval refused"
    APPROVAL_EXPIRED = "approval.expired", "Approval request expired"
    SHADOW_AGREEMENT = "agreement.recorded", "Shadow agreement recorded"
    SIGNED_IN = "account.signed_in", "Signed in through the OpenID provider"
    SIGN_IN_REFUSED = "account.sign_in_refused", "OpenID sign-in refused"


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
        "remediation.Ticket",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
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
    # The hash chain (see remediation/audit/services.py): each row's HMAC covers its content and the
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


class AuditSealQuerySet(models.QuerySet["AuditSeal"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Audit seals are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit seals are append-only")


class AuditAnchorQuerySet(models.QuerySet["AuditAnchor"]):
    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit anchors are never deleted")


class AuditAnchor(models.Model):
    """Where each stream of the trail ends: its length and last hash, under an HMAC (see
    ``services``). Written with every append, in the same transaction, under the stream's
    lock; a seal (``AuditSeal``) records it later and marks it sealed. Deleting rows at the
    end of a stream, or a whole stream, no longer leaves a consistent trail: the anchor
    names rows that are gone, and deleting the anchor leaves rows that no anchor covers."""

    stream = models.CharField(max_length=64, unique=True)
    length = models.PositiveBigIntegerField()
    head_hash = models.CharField(max_length=64)
    # The last seal that recorded this stream, and the length it recorded (0: never sealed).
    sealed_seq = models.PositiveBigIntegerField(default=0)
    sealed_length = models.PositiveBigIntegerField(default=0)
    mac = models.CharField(max_length=64)

    objects = AuditAnchorQuerySet.as_manager()

    class Meta:
        # The sealer finds the anchors that moved since their last seal without a full scan.
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(length__gt=models.F("sealed_length")),
                name="audit_anchor_unsealed_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.stream}: {self.length} rows"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit anchors are never deleted")


class AuditSeal(models.Model):
    """One seal: the anchors that moved since the previous seal, as ``[stream, length,
    head_hash]``, chained to the previous seal by an HMAC. Append-only, like the trail."""

    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    entries = models.JSONField(default=list)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditSealQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"seal {self.seq} ({len(self.entries)} streams)"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Audit seals are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit seals are append-only")
