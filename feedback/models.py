"""Feedback: what a person says about a ticket's resolution, and what actually worked."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from remediation.tickets.models import Ticket

MAX_TIME_TO_RESOLVE_MINUTES = 525_600  # one year


class FeedbackType(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"


class Feedback(models.Model):
    # related_name "feedback": recompute counts feedback per pattern through tickets.
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feedback"
    )
    feedback_type = models.CharField(max_length=16, choices=FeedbackType.choices)
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    was_helpful = models.BooleanField(null=True, blank=True)
    resolution_accurate = models.BooleanField(null=True, blank=True)
    actions_worked = models.BooleanField(null=True, blank=True)

    comment = models.TextField(blank=True)
    what_worked = models.TextField(blank=True)
    what_didnt_work = models.TextField(blank=True)
    suggestions = models.TextField(blank=True)
    actual_resolution = models.TextField(blank=True)
    actual_actions_taken = models.JSONField(default=list, blank=True)
    time_to_resolve = models.FloatField(
        null=True,
        blank=True,
        help_text="Minutes",
        validators=[MinValueValidator(0.0), MaxValueValidator(MAX_TIME_TO_RESOLVE_MINUTES)],
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Decided when the feedback is given (feedback.verdicts.access.feedback_trust): a person
    # holding feedback.teach who did not submit the ticket (and, when a team owns the
    # ticket, one of its members; anyone else who may teach is refused). Untrusted feedback
    # is stored and shown but weighs nothing. Kept as given, so a later permission change
    # does not rewrite history and recompute_patterns counts exactly what the incremental
    # updates counted.
    trusted = models.BooleanField(default=False)
    # Trusted feedback whose verdict disagreed with a measured or confirmed outcome.
    disagrees = models.BooleanField(default=False)

    class Meta:
        permissions = [("teach", "Can give trusted feedback")]
        ordering = ["-created_at", "-id"]
        constraints = [
            # One feedback per person per ticket; a second attempt is a 409 (also when two
            # arrive at once: the database decides).
            models.UniqueConstraint(fields=["ticket", "user"], name="uniq_feedback_ticket_user"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_5"
            ),
        ]
        verbose_name_plural = "feedback"

    def __str__(self) -> str:
        return f"{self.feedback_type} ({self.rating}/5) on {self.ticket_id} by {self.user_id}"


class Review(models.Model):
    """A person's handling of a ticket in the review queue (``feedback.reviews``): who took
    it, and whether its review was closed, by whom and why. One row per ticket, made when
    someone first takes, runs or closes it."""

    ticket = models.OneToOneField(Ticket, on_delete=models.PROTECT, related_name="review")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_reason = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        state = "closed" if self.closed_at else "open"
        return f"review of {self.ticket_id} ({state})"
