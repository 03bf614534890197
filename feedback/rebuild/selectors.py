"""Reads of the pattern rebuild: every pattern's raw totals, counted from the stored
tickets, feedback and shadow agreement verdicts."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.db.models.functions import Round

from feedback.models import Feedback, FeedbackType
from patterns.services import SUM_DECIMALS, PatternTotals
from remediation.approvals.models import ShadowAgreement
from remediation.tickets.models import Ticket, TicketOutcome


def pattern_totals() -> dict[int, PatternTotals]:
    """Every pattern's raw totals, counted from tickets, feedback and shadow agreement
    verdicts in three grouped queries."""
    concluded = [TicketOutcome.SUCCESS, TicketOutcome.FAILURE]
    ticket_rows = (
        Ticket.objects.filter(pattern__isnull=False)
        .order_by()
        .values("pattern_id")
        .annotate(
            occurrences=Count("id"),
            confidence=Sum(Round("confidence_score", SUM_DECIMALS)),
            successes=Count("id", filter=Q(outcome=TicketOutcome.SUCCESS)),
            failures=Count("id", filter=Q(outcome=TicketOutcome.FAILURE)),
            # The average reliability counts concluded tickets only, as the updates do.
            reliability=Sum(
                Round("reliability_score", SUM_DECIMALS), filter=Q(outcome__in=concluded)
            ),
            scored=Count("reliability_score", filter=Q(outcome__in=concluded)),
            attempts=Count("id", filter=Q(auto_remediation_executed=True, outcome__in=concluded)),
            remediated_ok=Count(
                "id", filter=Q(auto_remediation_executed=True, outcome=TicketOutcome.SUCCESS)
            ),
        )
    )
    feedback_rows = (
        # Only trusted feedback counts, and not a verdict that disagreed with a measured
        # outcome, as in the incremental updates.
        Feedback.objects.filter(ticket__pattern__isnull=False, trusted=True, disagrees=False)
        .order_by()
        .values("ticket__pattern_id")
        .annotate(
            positive=Count("id", filter=Q(feedback_type=FeedbackType.POSITIVE)),
            negative=Count("id", filter=Q(feedback_type=FeedbackType.NEGATIVE)),
            neutral=Count("id", filter=Q(feedback_type=FeedbackType.NEUTRAL)),
        )
    )
    feedback_by_pattern: dict[int, dict[str, int]] = {
        row["ticket__pattern_id"]: {k: row[k] for k in ("positive", "negative", "neutral")}
        for row in feedback_rows
    }
    # Each verdict counts on the pattern it was counted on (kept on the row).
    agreement_rows = (
        ShadowAgreement.objects.filter(pattern__isnull=False)
        .order_by()
        .values("pattern_id")
        .annotate(
            agreements=Count("id", filter=Q(agreed=True)),
            disagreements=Count("id", filter=Q(agreed=False)),
        )
    )
    agreement_by_pattern: dict[int, tuple[int, int]] = {
        row["pattern_id"]: (row["agreements"], row["disagreements"]) for row in agreement_rows
    }
    totals: dict[int, PatternTotals] = {}
    for row in ticket_rows:  # one row per pattern, not per ticket
        fb: dict[str, int] = feedback_by_pattern.get(row["pattern_id"], {})
        agreed, disagreed = agreement_by_pattern.pop(row["pattern_id"], (0, 0))
        totals[row["pattern_id"]] = PatternTotals(
            occurrence_count=row["occurrences"],
            confidence_sum=float(row["confidence"] or 0.0),
            success_count=row["successes"],
            failure_count=row["failures"],
            positive_feedback_count=fb.get("positive", 0),
            negative_feedback_count=fb.get("negative", 0),
            neutral_feedback_count=fb.get("neutral", 0),
            reliability_sum=float(row["reliability"] or 0.0),
            reliability_count=row["scored"],
            auto_remediation_attempts=row["attempts"],
            auto_remediation_successes=row["remediated_ok"],
            shadow_agreement_count=agreed,
            shadow_disagreement_count=disagreed,
        )
    # A verdict can outlive its ticket's link to the pattern (the ticket moved on).
    for pattern_id, (agreed, disagreed) in agreement_by_pattern.items():
        totals[pattern_id] = PatternTotals(
            shadow_agreement_count=agreed, shadow_disagreement_count=disagreed
        )
    return totals
