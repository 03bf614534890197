"""A learned incident pattern: tickets that share a category and key terms.

The statistics are kept incrementally, in the same transaction as the event that changes
them (a ticket analyzed, a feedback given, an execution concluded), and can be rebuilt from
scratch with ``manage.py recompute_patterns``; both give the same numbers.
"""

from __future__ import annotations

from django.db import models

from remediation.rules import ratio

# Stored rates are compared with thresholds: kept unrounded.
FULL_PRECISION = None


class Pattern(models.Model):
    hash = models.CharField(max_length=64, unique=True, help_text="sha256 of the signature")
    category = models.CharField(max_length=50, db_index=True)
    key_terms = models.JSONField(default=list)
    signature = models.CharField(max_length=500, help_text="category|term1,term2,…")

    occurrence_count = models.PositiveIntegerField(default=0)
    success_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)

    positive_feedback_count = models.PositiveIntegerField(default=0)
    negative_feedback_count = models.PositiveIntegerField(default=0)
    neutral_feedback_count = models.PositiveIntegerField(default=0)
    positive_feedback_rate = models.FloatField(default=0.0)

    # Sums kept so that averages update in O(1) and recompute reproduces them exactly.
    confidence_sum = models.FloatField(default=0.0)
    avg_confidence_score = models.FloatField(default=0.0)
    reliability_sum = models.FloatField(default=0.0)
    reliability_count = models.PositiveIntegerField(default=0)
    avg_reliability_score = models.FloatField(default=0.0)

    auto_remediation_attempts = models.PositiveIntegerField(default=0)
    auto_remediation_successes = models.PositiveIntegerField(default=0)
    auto_remediation_success_rate = models.FloatField(default=0.0)

    # Approvers who refused this pattern's proposed actions (counted by the approval flow).
    rejection_count = models.PositiveIntegerField(default=0)

    # Shadow agreement: of the tickets people handled (approved, rejected, or fixed by hand
    # and said so in trusted feedback), how many times the system's proposal matched what
    # the person did (one verdict per ticket, the last trusted word; docs/learning.md).
    # Database defaults too, so rows inserted in bulk by SQL get zeros.
    shadow_agreement_count = models.PositiveIntegerField(default=0, db_default=0)
    shadow_disagreement_count = models.PositiveIntegerField(default=0, db_default=0)
    shadow_agreement_rate = models.FloatField(default=0.0, db_default=0.0)

    eligible_for_auto_remediation = models.BooleanField(default=False)
    eligibility_changed_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(
        default=True, help_text="Switch off to keep this pattern from ever counting as eligible."
    )

    needs_review = models.BooleanField(
        default=False,
        help_text="Trusted feedback disagreed with a measured outcome of one of its tickets; "
        "not eligible until an admin clears this.",
    )

    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurrence_count", "id"]
        indexes = [models.Index(fields=["category", "occurrence_count"])]
        permissions = [("view_pattern_stats", "Can view patterns and statistics")]

    def __str__(self) -> str:
        return f"{self.category}: {', '.join(self.key_terms)}"

    @property
    def positive_outcome_rate(self) -> float:
        """Of the pattern's concluded tickets, the share that succeeded (0 with none).

        A ticket's outcome is the measured one when something ran (post-checks, then the
        hold-time re-check that turns a fix that came back into a failure) and otherwise the
        verdict of a trusted person's feedback: measured outcomes outweigh ratings. This is
        the rate eligibility and the policies' ``min_positive_feedback_rate`` hold against.
        """
        concluded = self.success_count + self.failure_count
        # The decision and eligibility compare it with a threshold, where no evidence fails:
        # 0.0 here; the pages and the API show no data (``Pattern.shown_rates``).
        return ratio(self.success_count, concluded, FULL_PRECISION) or 0.0

    @property
    def outcome_success_rate(self) -> float | None:
        """Outcome success (``remediation.rules``): of the pattern's remediated tickets whose
        outcome concluded, the share whose fix held; None without any. What eligibility
        holds against PATTERN_MIN_SUCCESS_RATE (stored as ``auto_remediation_success_rate``,
        0.0 there without any, which fails the threshold)."""
        return ratio(self.auto_remediation_successes, self.auto_remediation_attempts)

    def shown_rates(self) -> dict[str, float | None]:
        """The pattern's rates as the pages and the API show them: None (no data) when there
        is nothing to divide by, never 0 %."""
        feedback = (
            self.positive_feedback_count
            + self.negative_feedback_count
            + self.neutral_feedback_count
        )
        shadow = self.shadow_agreement_count + self.shadow_disagreement_count
        return {
            "positive_outcome_rate": ratio(
                self.success_count, self.success_count + self.failure_count
            ),
            "positive_feedback_rate": ratio(self.positive_feedback_count, feedback),
            "outcome_success_rate": self.outcome_success_rate,
            "shadow_agreement_rate": ratio(self.shadow_agreement_count, shadow),
        }
