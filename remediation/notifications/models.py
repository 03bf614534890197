"""One row per administrator e-mail the system owes.

Written in the transaction that records the event (failure, rollback, unknown outcome, an
opened circuit breaker), keyed by the event itself, so that the same event recorded twice
(a re-delivered task, a retried service call) owes one mail, not two. The task that sends it
claims the row first, so a second delivery of the task sends nothing either.

Foreign keys are named by string: this module must not import ``remediation.models``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from config.secrets import reserved_env_problem


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


ENV_NAME_REGEX = r"^[A-Z][A-Z0-9_]{0,99}$"


class NotificationChannel(models.Model):
    """A chat room or webhook people are told in, through Apprise: Slack (``slack://``),
    Microsoft Teams (``msteams://`` / ``workflows://``), Mattermost (``mmost://``), a generic
    webhook (``json://`` / ``jsons://``), e-mail (``mailto://``) and the other services
    Apprise supports.

    The Apprise URL carries the channel's secret (a webhook token), so it is not stored in
    the database: ``url_env`` names the environment variable that holds it, as connectors
    name their tokens. ``policies`` limits the channel to those policies' categories (none:
    every category)."""

    name = models.CharField(max_length=100, unique=True)
    url_env = models.CharField(
        max_length=100,
        validators=[RegexValidator(ENV_NAME_REGEX, "An environment variable name: A-Z, 0-9, _")],
        help_text=(
            "The environment variable that holds the Apprise URL, by convention "
            "NOTIFY_<NAME>_URL, e.g. NOTIFY_OPS_URL."
        ),
    )
    policies = models.ManyToManyField(
        "policies.AutoRemediationPolicy",
        blank=True,
        related_name="+",
        help_text="Only tickets of these policies' categories; none selected: every category.",
    )
    on_approval_needed = models.BooleanField(
        default=True, help_text="Tell the channel when a request starts waiting for approval."
    )
    on_problem = models.BooleanField(
        default=True,
        help_text="Tell the channel about failures, rollbacks, unknown outcomes and opened "
        "circuit breakers.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        problem = reserved_env_problem(self.url_env)
        if problem:
            raise ValidationError({"url_env": problem})
