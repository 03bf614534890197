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


class SlackMessage(models.Model):
    """An approval message posted to Slack: where it is (``channel`` and ``ts``, as Slack
    answered ``chat.postMessage``), so that it is updated in place (``chat.update``) when the
    request is decided, wherever that happened, and its thread carries what followed."""

    request = models.OneToOneField(
        "remediation.ApprovalRequest", on_delete=models.PROTECT, related_name="slack_message"
    )
    ticket = models.ForeignKey("remediation.Ticket", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=32)
    ts = models.CharField(max_length=32, help_text="Slack's id of the message in its channel.")
    posted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    shown = models.CharField(
        max_length=64, blank=True, help_text="sha256 of what Slack shows now (text and blocks)."
    )

    class Meta:
        ordering = ["-posted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel}/{self.ts}"


class SlackUpdate(models.Model):
    """One event the approval message in Slack owes its readers (a decision, an execution's
    start or end, whether the fix held): written in the transaction that records the event,
    keyed by it, so the same event twice owes one update. The worker's task updates the
    message from the ticket's state as it then stands, posts the event's line in the
    message's thread, and marks the row sent (claimed first: a second delivery posts
    nothing)."""

    key = models.CharField(max_length=200, unique=True)
    ticket = models.ForeignKey("remediation.Ticket", on_delete=models.PROTECT, related_name="+")
    event = models.CharField(max_length=32)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({'sent' if self.sent_at else 'owed'})"


class SlackLinkUse(models.Model):
    """A one-time link that bound a Slack user to a user of this system: its nonce, used
    once (a second use of the same link is refused by the unique nonce)."""

    nonce = models.CharField(max_length=64, unique=True)
    team_id = models.CharField(max_length=32)
    slack_user_id = models.CharField(max_length=32)
    user = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, related_name="+", help_text="Who used it."
    )
    used_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.team_id}/{self.slack_user_id} -> {self.user_id}"
