"""Approval requests, each approver's decision, the actions people refused per pattern,
and whether people agreed with what the system proposed (shadow agreement).

Imported by ``remediation.models`` so that Django registers them in the ``remediation`` app.
Foreign keys are named by string: this module must not import ``remediation.models``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class ApprovalChannel(models.TextChoices):
    API = "api", "API"
    WEB = "web", "Approval page"
    ADMIN = "admin", "Admin"
    SLACK = "slack", "Slack"
    REVIEW = "review", "Review queue"


class ApprovalRequest(models.Model):
    """One per ticket that waits for people. Its numbers are fixed when it opens (from the
    policy then in force), so that editing a policy does not silently change what an
    earlier approval meant; who may approve is checked against the policy at each step."""

    ticket = models.OneToOneField(
        "remediation.Ticket", on_delete=models.PROTECT, related_name="approval_request"
    )
    status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    policy_name = models.CharField(max_length=100, blank=True)
    approvers = models.JSONField(
        default=list, blank=True, help_text="The policy's approver e-mails when it opened."
    )
    required_approvals = models.PositiveSmallIntegerField(default=1)
    actions_digest = models.CharField(max_length=64, help_text="Of the actions when it opened.")
    opened_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_reason = models.TextField(blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        indexes = [models.Index(fields=["status", "opened_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(required_approvals__gte=1), name="approval_required_gte_1"
            )
        ]

    def __str__(self) -> str:
        return f"approval of ticket {self.ticket_id} ({self.status})"


class ApprovalDecision(models.Model):
    """One person's answer. Append-only evidence: who, yes or no, why, and on which actions."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="decisions")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_decisions"
    )
    approve = models.BooleanField()
    # A rejection that says "the fix may be right, but not now" (a freeze, a busy hour, a
    # person will do it later): it ends the request but does not count against the pattern.
    not_now = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    actions_digest = models.CharField(max_length=64)
    via = models.CharField(max_length=8, choices=ApprovalChannel.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # The same person approving the same actions twice counts once (also when the
            # two requests race: the database refuses the second row).
            models.UniqueConstraint(
                fields=["request", "approver", "actions_digest"],
                condition=models.Q(approve=True),
                name="one_approval_per_person_per_digest",
            )
        ]

    def __str__(self) -> str:
        verdict = "approved" if self.approve else "put off" if self.not_now else "rejected"
        return f"{self.approver_id} {verdict} request {self.request_id}"


class RejectedOperation(models.Model):
    """How often people refused a catalogue operation for tickets of a pattern. The
    analysis stops proposing it for that pattern until later successes outweigh it."""

    pattern = models.ForeignKey(
        "patterns.Pattern", on_delete=models.CASCADE, related_name="rejected_operations"
    )
    operation = models.CharField(max_length=64)
    rejection_count = models.PositiveIntegerField(default=0)
    first_rejected_at = models.DateTimeField()
    last_rejected_at = models.DateTimeField()

    class Meta:
        ordering = ["pattern", "operation"]
        constraints = [
            models.UniqueConstraint(
                fields=["pattern", "operation"], name="one_rejection_row_per_pattern_operation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.operation} rejected {self.rejection_count}x"


class AgreementSource(models.TextChoices):
    APPROVAL = "approval", "Approval"
    REJECTION = "rejection", "Rejection"
    FEEDBACK = "feedback", "Trusted feedback"


class ShadowAgreement(models.Model):
    """Did the system's proposal for a ticket match what the person who handled it did?

    One row per ticket: the last trusted word (an approval, a rejection, a trusted
    feedback) wins. ``pattern`` is the pattern the verdict was counted on, so that
    ``recompute_patterns`` counts exactly what the incremental updates counted. Written only
    by ``remediation.approvals.services.agreement_record``."""

    ticket = models.OneToOneField(
        "remediation.Ticket", on_delete=models.PROTECT, related_name="shadow_agreement"
    )
    pattern = models.ForeignKey(
        "patterns.Pattern",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="shadow_agreements",
    )
    agreed = models.BooleanField()
    source = models.CharField(max_length=16, choices=AgreementSource.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        verdict = "agreed" if self.agreed else "disagreed"
        return f"ticket {self.ticket_id}: {verdict} ({self.source})"


class SlackUserLink(models.Model):
    """Which project user a Slack user is, kept by an admin: a Slack click acts as that
    user, under every rule of the approval service. A Slack user with no link is refused."""

    team_id = models.CharField(max_length=32, help_text="The Slack workspace (team) id, T...")
    slack_user_id = models.CharField(max_length=32, help_text="The Slack user id, U... or W...")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team_id", "slack_user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "slack_user_id"], name="one_link_per_slack_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team_id}/{self.slack_user_id} -> {self.user_id}"


class SlackButton(models.Model):
    """One button of an approval message posted to Slack: approve or reject one request, for
    exactly the actions it showed (``actions_digest``), until ``expires_at`` (the request's
    own expiry). ``token`` is the button's value, unguessable; each Slack user may use a
    button once (``SlackButtonUse``)."""

    token = models.CharField(max_length=64, unique=True)
    request = models.ForeignKey(
        ApprovalRequest, on_delete=models.PROTECT, related_name="slack_buttons"
    )
    approve = models.BooleanField()
    actions_digest = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{'approve' if self.approve else 'reject'} {self.request_id}"


class SlackButtonUse(models.Model):
    """A Slack user used a button: the second use of it by the same user (a replayed
    request) is refused."""

    button = models.ForeignKey(SlackButton, on_delete=models.PROTECT, related_name="uses")
    team_id = models.CharField(max_length=32)
    slack_user_id = models.CharField(max_length=32)
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["button", "team_id", "slack_user_id"], name="one_use_per_slack_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team_id}/{self.slack_user_id} used {self.button_id}"
