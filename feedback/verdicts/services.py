"""Feedback and its effects (docs/learning.md).

Who teaches: feedback *counts* (human validation in the category's rollups, the pattern's
statistics and so its eligibility, the ticket's outcome, learned runbooks) only when it is
**trusted**: given by a person holding ``feedback.teach`` who did not submit the ticket.
Other feedback is stored, audited and shown, and weighs nothing. A holder of
``feedback.teach`` outside the team that owns the ticket is refused (403
``not_your_team``): one rule, ``feedback.verdicts.access.feedback_trust``, asked here for
the API, the review queue's page and the demo history alike.

Feedback is accepted only once the system is done with the ticket (``lifecycle.
FEEDBACK_OPEN``: analyzed, manual_review, or ended); while it is processing, awaiting
approval or remediating it is refused with 409.

The verdict a feedback gives (``feedback.verdicts.rules.outcome_from_feedback``): negative
or "the actions did not work" is a failure; positive with an accurate resolution or working
actions is a success; anything else gives none.

A trusted verdict decides the outcome only where nothing measured it and nobody decided
yet (status analyzed or manual_review, outcome unknown): success resolves the ticket,
failure records the failure. Anywhere else a measured (post-checks) or already confirmed
outcome stands: a disagreeing trusted verdict is recorded (``Feedback.disagrees``) and
flags the ticket and its pattern for review, never flips the outcome, and is not counted in
the pattern's feedback rates (measured outcomes outweigh ratings).

A trusted feedback changes its pattern with one locked read and one write, then teaches a
runbook (``feedback.runbooks.services``) when it says what worked.

Shadow agreement (``remediation.approvals.rules.feedback_agreement``): a trusted feedback
that says whether the proposal matched what the person did replaces the ticket's verdict
(``remediation.approvals.services.agreement_record``), counted in that same write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import Conflict
from feedback.models import Feedback
from feedback.runbooks.services import runbook_learn_from_feedback
from feedback.verdicts.access import feedback_trust
from feedback.verdicts.rules import outcome_from_feedback
from patterns.services import PatternChange, feedback_added, pattern_update, review_flagged
from remediation.approvals.models import AgreementSource
from remediation.approvals.rules import feedback_agreement
from remediation.approvals.services import agreement_record
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
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


def feedback_submit(*, ticket: Ticket, user: User, data: FeedbackInput) -> Feedback:
    """Store ``user``'s feedback on ``ticket`` and apply its effects, atomically.

    Preconditions: ``user`` may see ``ticket`` (``access.ticket_for_feedback``) and
    ``data`` is validated. Raises ``Conflict`` when the ticket is still being worked on by
    the system (``ticket_busy``), or when this user already gave feedback on it
    (``duplicate_feedback``, also when two submissions race: the unique constraint decides);
    ``Forbidden`` (``not_your_team``) when a person who may teach is outside the team that
    owns the ticket (``access.feedback_trust``).
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
        trusted = feedback_trust(user, ticket)
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
    outcome: str | None,
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
