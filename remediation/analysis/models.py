"""Runbooks: what the local analyzer knows (shipped, written by admins, or learned)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from policies.categories import CategoryField


class RunbookSource(models.TextChoices):
    SEED = "seed", "Shipped with the system"
    ADMIN = "admin", "Written by an admin"
    FEEDBACK = "feedback", "Learned from feedback"


class Runbook(models.Model):
    """What the local analyzer knows: symptoms that call for a catalogue operation."""

    name = models.CharField(max_length=120, unique=True)
    operation = models.CharField(max_length=64, help_text="A key of the action catalogue")
    category = CategoryField(
        blank=True, help_text="Only for tickets of this category; blank for any"
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
        "remediation.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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
