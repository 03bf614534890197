"""One row per administrator e-mail the system owes.

Written in the transaction that records the event (failure, rollback, unknown outcome, an
opened circuit breaker), keyed by the event itself, so that the same event recorded twice
(a re-delivered task, a retried service call) owes one mail, not two. The task that sends it
claims the row first, so a second delivery of the task sends nothing either.

Foreign keys are named by string: this module must not import ``remediation.models``.
"""

from __future__ import annotations

from django.db import models


class AdminEvent(models.TextChoices):
    FAILED = "failed", "remediation failed"
    ROLLED_BACK = "rolled_back", "remediation failed and was rolled back"
    UNKNOWN = "unknown", "remediation has an unknown outcome"
    CIRCUIT_OPEN = "circuit_open", "a circuit breaker opened"


class AdminNotice(models.Model):
    key = models.CharField(
        max_length=200, unique=True, help_text="The event, e.g. execution:7:1:failed"
    )
    event = models.CharField(max_length=16, choices=AdminEvent.choices)
    ticket = models.ForeignKey(
        "remediation.Ticket", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.key} ({'sent' if self.sent_at else 'owed'})"
