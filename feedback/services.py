"""Feedback and its effects, and the rebuild of every pattern statistic.

Who teaches (docs/learning.md): feedback *counts* (human validation in the category's
rollups, the pattern's statistics and so its eligibility, the ticket's outcome, learned
runbooks) only when it is **trusted**: given by a person holding ``feedback.teach`` who did
not submit the ticket. Other feedback is stored, audited and shown, and weighs nothing.

Feedback is accepted only once the system is done with the ticket (``lifecycle.
FEEDBACK_OPEN``: analyzed, manual_review, or ended); while it is processing, awaiting
approval or remediating it is refused with 409.

Outcome rule (``outcome_from_feedback``) gives a verdict:

1. ``negative``, or ``actions_worked`` is false  -> failure
2. ``positive`` and (``resolution_accurate`` or ``actions_worked`` is true) -> success
3. anything else (neutral; positive without saying what worked) -> no verdict

A trusted verdict decides the outcome only where nothing measured it and nobody decided
yet (status analyzed or manual_review, outcome unknown): success resolves the ticket,
failure records the failure. Anywhere else a measured (post-checks) or already confirmed
outcome stands: a disagreeing trusted verdict is recorded (``Feedback.disagrees``) and
flags the ticket and its pattern for review, never flips the outcome, and is not counted in
the pattern's feedback rates (measured outcomes outweigh ratings).

A trusted feedback changes its pattern with one locked read and one write.

Shadow agreement (``remediation.approvals.rules.feedback_agreement``): a trusted feedback
that says whether the proposal matched what the person did replaces the ticket's verdict
(``remediation.approvals.services.agreement_record``), counted in that same write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Round
from django.utils import timezone

from config.errors import Conflict
from feedback.models import Feedback, FeedbackType
from patterns import services as pattern_services
from patterns.models import Pattern
from patterns.services import (
    SUM_DECIMALS,
    EligibilityChange,
    PatternChange,
    PatternTotals,
    feedback_added,
    pattern_update,
    review_flagged,
)
from remediation.analysis.models import Runbook, RunbookSource
from remediation.approvals.models import AgreementSource, ShadowAgreement
from remediation.approvals.rules import feedback_agreement
from remediation.approvals.services import agreement_record
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.catalogue.rules.operations import get_operation, validate_suggestions
from remediation.scoring.services import rescored, score_ticket
from remediation.tickets import rollups
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.rules import lifecycle
from remediation.tickets.selectors import pattern_ref
from remediation.tickets.transitions import ticket_transition


@dataclass(frozen=True)
class FeedbackInput:
    feedback_type: str
    rating: int
    was_helpful: bool | None = None
    resolution_accurate: bool | None = None
    actions_worked: bool | None = None
    comment: str = ""
    what_worked: str = ""
    what_didnt_work: str = ""
    suggestions: str = ""
    actual_resolution: str = ""
    # Each item: a plain sentence, or {"operation", "system", "params", "action"}.
    actual_actions_taken: Sequence[str | Mapping[str, Any]] = field(default_factory=list)
    time_to_resolve: float | None = None


def outcome_from_feedback(
    feedback_type: str, *, resolution_accurate: bool | None, actions_worked: bool | None
) -> TicketOutcome | None:
    """The outcome a feedback establishes, or None when it leaves the outcome alone."""
    if feedback_type == FeedbackType.NEGATIVE or actions_worked is False:
        return TicketOutcome.FAILURE
    if feedback_type == FeedbackType.POSITIVE and (
        resolution_accurate is True or actions_worked is True
    ):
        return TicketOutcome.SUCCESS
    return None


TEACH_PERMISSION = "feedback.teach"


def is_trusted(user: User, ticket: Ticket) -> bool:
    """May ``user``'s feedback on ``ticket`` teach the system? Never the submitter's."""
    return user.pk != ticket.submitted_by_id and user.has_perm(TEACH_PERMISSION)


def feedback_submit(*, ticket: Ticket, user: User, data: FeedbackInput) -> Feedback:
    """Store ``user``'s feedback on ``ticket`` and apply its effects, atomically.

    Preconditions: ``user`` may see ``ticket`` (``feedback.access.ticket_for_feedback``) and
    ``data`` is validated. Raises ``Conflict`` when the ticket is still being worked on by
    the system (``ticket_busy``), or when this user already gave feedback on it
    (``duplicate_feedback``, also when two submissions race: the unique constraint decides).
    The returned feedback carries the updated ticket (``feedback.ticket``).
    """
    with transaction.atomic():
        # The ticket row is locked for the whole chain: outcome, scoring and the pattern
        # statistics of one ticket change one feedback at a time.
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status not in lifecycle.FEEDBACK_OPEN:
            raise Conflict(
                f"Ticket {ticket.ticket_id} is {ticket.status}; feedback is accepted once the "
                "system is done with it (analyzed, manual review, or ended).",
                code="ticket_busy",
                fields={"ticket_id": [f"Ticket is {ticket.status}."]},
            )
        trusted = is_trusted(user, ticket)
        verdict = outcome_from_feedback(
            data.feedback_type,
            resolution_accurate=data.resolution_accurate,
            actions_worked=data.actions_worked,
        )
        decides = (
            trusted
            and verdict is not None
            and ticket.status in lifecycle.PERSON_DECIDES
            and ticket.outcome == TicketOutcome.UNKNOWN
        )
        disagrees = trusted and verdict is not None and not decides and verdict != ticket.outcome
        try:
            with transaction.atomic():
                feedback = Feedback.objects.create(
                    ticket=ticket,
                    user=user,
                    feedback_type=data.feedback_type,
                    rating=data.rating,
                    was_helpful=data.was_helpful,
                    resolution_accurate=data.resolution_accurate,
                    actions_worked=data.actions_worked,
                    comment=data.comment,
                    what_worked=data.what_worked,
                    what_didnt_work=data.what_didnt_work,
                    suggestions=data.suggestions,
                    actual_resolution=data.actual_resolution,
                    actual_actions_taken=[
                        dict(item) if isinstance(item, Mapping) else item
                        for item in data.actual_actions_taken
                    ],
                    time_to_resolve=data.time_to_resolve,
                    trusted=trusted,
                    disagrees=disagrees,
                )
        except IntegrityError:
            raise Conflict(
                f"You already gave feedback on ticket {ticket.ticket_id}.",
                code="duplicate_feedback",
                fields={"ticket_id": ["Feedback on this ticket was already given by you."]},
            ) from None
        feedback.ticket = ticket
        feedback.user = user

        audit(
            AuditAction.FEEDBACK_SUBMITTED,
            f"{data.feedback_type.capitalize()} feedback ({data.rating}/5) "
            f"by {user.get_username()}" + ("" if trusted else " (untrusted: stored, not counted)"),
            ticket=ticket,
            acting_user=user,
            details={
                "feedback_id": feedback.pk,
                "feedback_type": data.feedback_type,
                "rating": data.rating,
                "was_helpful": data.was_helpful,
                "resolution_accurate": data.resolution_accurate,
                "actions_worked": data.actions_worked,
                "trusted": trusted,
                "verdict": verdict,
            },
        )
        if not trusted:
            return feedback
        _apply_trusted(feedback, ticket, user, verdict if decides else None, disagrees)
        runbook_learn_from_feedback(feedback, ticket=ticket, acting_user=user)
    return feedback


def _apply_trusted(
    feedback: Feedback,
    ticket: Ticket,
    user: User,
    outcome: TicketOutcome | None,
    disagrees: bool,
) -> None:
    """Rollups, the pattern's feedback statistics, outcome, review flag and score of a
    trusted feedback."""
    rollups.record_feedback(
        category=ticket.category,
        day=timezone.localdate(feedback.created_at),
        feedback_type=feedback.feedback_type,
        rating=feedback.rating,
    )
    reason = f"{feedback.feedback_type} feedback by {user.get_username()}"
    if disagrees:
        ticket.needs_review = True
        ticket.save(update_fields=["needs_review", "updated_at"])
        audit(
            AuditAction.FEEDBACK_DISAGREES,
            f"Trusted {reason} disagrees with the outcome {ticket.outcome} "
            f"(status {ticket.status}); the outcome stands, ticket and pattern flagged "
            "for review.",
            ticket=ticket,
            pattern=ticket.pattern,
            acting_user=user,
            details={"feedback_id": feedback.pk, "outcome": str(ticket.outcome)},
        )
    verdict = feedback_agreement(
        proposed=ticket.suggested_actions or [],
        taken=feedback.actual_actions_taken or [],
        feedback_type=feedback.feedback_type,
        resolution_accurate=feedback.resolution_accurate,
        actions_worked=feedback.actions_worked,
        actual_resolution=feedback.actual_resolution,
        ran=ticket.auto_remediation_executed,
    )
    agreement = (
        agreement_record(
            ticket,
            agreed=verdict.agreed,
            source=AgreementSource.FEEDBACK,
            acting_user=user,
            reason=verdict.reason,
            at=feedback.created_at,
        )
        if verdict is not None
        else None
    )
    # The pattern's changes, in one write: the outcome (when it moves), this feedback, the
    # review flag, the shadow agreement, and the re-score, which reads the pattern as the
    # others left it.
    changes: list[PatternChange] = []
    if ticket.pattern_id is not None:
        flag = [review_flagged] if disagrees else []
        agreed = [agreement] if agreement is not None else []
        # Measured outcomes outweigh ratings: a verdict that disagrees with the measured
        # outcome does not move the pattern's feedback rates; it flags it for an admin.
        counted = [] if disagrees else [feedback_added(feedback.feedback_type)]
        changes = [*counted, *flag, *agreed, rescored(ticket)]
    if outcome == TicketOutcome.SUCCESS:
        ticket_transition(
            ticket,
            TicketStatus.RESOLVED,
            outcome=outcome,
            reason=f"Fix confirmed by {reason}",
            acting_user=user,
            pattern_changes=changes,
        )
    elif outcome == TicketOutcome.FAILURE:
        ticket_transition(
            ticket,
            ticket.status,
            outcome=outcome,
            reason=f"Suggestion refuted by {reason}",
            acting_user=user,
            pattern_changes=changes,
        )
    elif changes:
        pattern_update(pattern_ref(ticket), *changes, ticket=ticket, acting_user=user)
    if ticket.pattern_id is None:
        score_ticket(ticket)


def _learned_operation(
    feedback: Feedback, ticket: Ticket
) -> tuple[str, dict[str, Any], str] | None:
    """(operation, default params, where it came from) for a runbook learned from feedback.

    The first catalogue-valid action the person says they took; else the first valid one
    the ticket suggested (the resolution text is then what differs). Params keep everything
    but the target, which the analyzer takes from each new ticket.
    """
    taken = [item for item in feedback.actual_actions_taken if isinstance(item, Mapping)]
    for source, candidates in (
        ("actual_actions_taken", taken),
        ("suggested_actions", ticket.suggested_actions or []),
    ):
        actions, _dropped = validate_suggestions(candidates)
        if actions:
            action = actions[0]
            operation = get_operation(action.operation)
            target = operation.target_param if operation is not None else ""
            params = {k: v for k, v in action.params.items() if k != target}
            return action.operation, params, source
    return None


# How many distinct trusted people must teach the same fix before a learned runbook is
# used without an admin enabling it.
TEACHERS_TO_ACTIVATE = 2


def runbook_learn_from_feedback(
    feedback: Feedback, *, ticket: Ticket, acting_user: User
) -> Runbook | None:
    """Turn a trusted person's "what actually worked" into a proposal for this pattern.

    Preconditions: ``feedback`` is trusted, inside its transaction. Only when it gives
    ``actual_resolution`` or ``actual_actions_taken``, the ticket has a pattern, and a
    catalogue operation can be named (``_learned_operation``). One learned runbook per
    (pattern, operation): it is created **disabled**; the same fix (operation and
    parameters) taught by ``TEACHERS_TO_ACTIVATE`` distinct trusted people enables it,
    otherwise an admin does after review. A different fix for the same operation is
    audited and not counted. Symptoms are the pattern's key terms.
    """
    if not feedback.actual_resolution and not feedback.actual_actions_taken:
        return None
    chosen = _learned_operation(feedback, ticket)
    pattern = ticket.pattern
    if chosen is None or pattern is None:
        why = "the ticket has no pattern" if pattern is None else "no catalogue operation"
        audit(
            AuditAction.RUNBOOK_LEARNED,
            f"Nothing learned: {why} among the actions taken or suggested."
            if chosen is None
            else f"Nothing learned: {why}.",
            ticket=ticket,
            acting_user=acting_user,
            details={"feedback_id": feedback.pk, "learned": False},
        )
        return None
    operation, params, source = chosen
    runbook = (
        Runbook.objects.select_for_update()
        .filter(source=RunbookSource.FEEDBACK, pattern=pattern, operation=operation)
        .first()
    )
    created = False
    if runbook is None:
        terms = list(pattern.key_terms) or [ticket.title]
        resolution = feedback.actual_resolution or "What worked: " + "; ".join(
            item if isinstance(item, str) else str(item.get("action") or item.get("operation"))
            for item in feedback.actual_actions_taken
        )
        try:
            with transaction.atomic():
                runbook = Runbook.objects.create(
                    name=f"Learned {operation} for pattern {pattern.hash[:12]}",
                    operation=operation,
                    category=ticket.category,
                    pattern=pattern,
                    symptoms="\n".join(terms),
                    resolution=resolution,
                    params=params,
                    source=RunbookSource.FEEDBACK,
                    learned_from=ticket,
                    enabled=False,
                )
            created = True
        except IntegrityError:  # another teacher created it at the same moment
            runbook = Runbook.objects.select_for_update().get(
                source=RunbookSource.FEEDBACK, pattern=pattern, operation=operation
            )
    details: dict[str, Any] = {
        "feedback_id": feedback.pk,
        "runbook": runbook.name,
        "operation": operation,
        "params": params,
        "operation_from": source,
        "pattern": pattern.hash,
    }
    if not created and runbook.params != params:
        audit(
            AuditAction.RUNBOOK_LEARNED,
            f"Not counted toward {runbook.name!r}: a different fix ({operation} {params}) "
            f"than the one proposed ({runbook.params}).",
            ticket=ticket,
            acting_user=acting_user,
            details={**details, "learned": False, "proposed_params": runbook.params},
        )
        return runbook
    runbook.taught_by.add(acting_user)
    audit(
        AuditAction.RUNBOOK_LEARNED,
        f"Runbook {runbook.name!r} {'proposed' if created else 'taught again'}: {operation} "
        f"for pattern {pattern.signature}"
        + ("" if runbook.enabled else " (inactive until an admin enables it)"),
        ticket=ticket,
        acting_user=acting_user,
        details={**details, "learned": True, "created": created},
    )
    if not runbook.enabled:
        teachers = runbook.taught_by.count()
        if teachers >= TEACHERS_TO_ACTIVATE:
            runbook.enabled = True
            runbook.save(update_fields=["enabled", "updated_at"])
            audit(
                AuditAction.RUNBOOK_ACTIVATED,
                f"Runbook {runbook.name!r} enabled: the same fix was taught by {teachers} "
                "distinct trusted people.",
                ticket=ticket,
                acting_user=acting_user,
                details={**details, "teachers": teachers},
            )
    return runbook


@dataclass(frozen=True)
class RecomputeSummary:
    patterns: int
    eligible: int
    changes: list[EligibilityChange]


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


def patterns_recompute(*, progress: Callable[[int, int], None] | None = None) -> RecomputeSummary:
    """Rebuild every pattern statistic from tickets and feedback, then settle eligibility.

    Gives the same numbers as the incremental updates: one occurrence and its confidence
    per ticket linked to the pattern, outcomes and reliability as stored on the tickets,
    feedback by type, a remediation attempt per concluded ticket whose actions ran, and
    each ticket's shadow agreement verdict on the pattern it was counted on.
    First/last seen are observation times, not derived from tickets, and are kept.
    Pattern rows are locked before counting, so an update racing the rebuild waits for it
    and then applies on top of the rebuilt numbers.
    """
    with transaction.atomic():
        pattern_services.lock_all_patterns()
        changes = pattern_services.pattern_rebuild(pattern_totals(), progress=progress)
        eligible = Pattern.objects.filter(eligible_for_auto_remediation=True).count()
        total = Pattern.objects.count()
    return RecomputeSummary(patterns=total, eligible=eligible, changes=changes)
