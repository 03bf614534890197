"""The review queue: tickets the system will not, or could not, finish by itself, and what
a person does with each. Page (``/reviews/``) and API (``/api/v1/reviews``) call these.

A ticket is in the queue while its status is ``manual_review``, ``failed`` or
``partially_remediated`` (an unknown execution outcome is ``manual_review``) and nobody
closed its review. A person who may work the queue (staff, the Operators' ``feedback.teach``
or the Approvers' ``remediation.approve_remediation``) can:

* **take** it: the assignment is shown to everyone else (taking it over is allowed, and
  audited);
* **run its proposal** under a person's decision (only someone who may approve: staff and
  Operators without the approval permission may not start a run; and never what the
  category's policy refuses, its thresholds included, so a decision's "Rejected:
  reliability below the policy's minimum" is not turned into a write by a person): a
  ticket where nothing ran, nobody decided yet and whose submitter opted in goes back to
  ``awaiting_approval`` with a new approval request, and the reviewer's own approval is
  given through the approval service, so every rule holds (the permission, never one's
  own ticket, M-of-N, the digest); the choke point re-checks all of it before anything
  runs;
* **record what they did by hand**: trusted feedback with the actions taken (the feedback
  service: it concludes the ticket, teaches the pattern, feeds shadow agreement);
* **close** it with a reason: it leaves the queue; its status and outcome stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from config.errors import ApplicationError, Conflict, Forbidden
from feedback.inbox.rules import REVIEW_PAGE_KINDS
from feedback.inbox.selectors import kind_of
from feedback.models import Review
from feedback.reviews.access import ticket_for_review
from feedback.reviews.selectors import can_run
from remediation.approvals.access import may_approve_anything
from remediation.approvals.models import ApprovalChannel
from remediation.approvals.selectors import current_digest
from remediation.approvals.services import approval_grant, approval_request_open
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.transitions import ticket_transition

MAX_REASON = 500


def _open_review(ticket: Ticket) -> Review:
    """The ticket's review, made if need be; refused unless the inbox lists the ticket for
    a person to handle here (a review, an unknown outcome, nobody will handle it, decided
    while paused, feedback disagrees: ``feedback.inbox.rules.REVIEW_PAGE_KINDS``)."""
    review, _ = Review.objects.select_for_update().get_or_create(ticket=ticket)
    if review.closed_at is not None or kind_of(ticket) not in REVIEW_PAGE_KINDS:
        raise Conflict(
            f"Ticket {ticket.ticket_id} is not in the review queue.", code="not_in_review"
        )
    return review


def review_take(ticket_id: str, *, user: User) -> Review:
    with transaction.atomic():
        ticket = ticket_for_review(ticket_id, user, lock=True)
        review = _open_review(ticket)
        before = review.assignee
        review.assignee = user
        review.taken_at = timezone.now()
        review.save(update_fields=["assignee", "taken_at"])
        audit(
            AuditAction.REVIEW_TAKEN,
            f"Review taken by {user.get_username()}"
            + (f" (from {before.get_username()})" if before and before != user else ""),
            ticket=ticket,
            acting_user=user,
            details={"from": before.get_username() if before else None},
        )
    return review


def review_close(ticket_id: str, *, user: User, reason: str) -> Review:
    reason = reason.strip()
    if not reason:
        raise ApplicationError("reason: say why you close it.", fields={"reason": ["Required."]})
    with transaction.atomic():
        ticket = ticket_for_review(ticket_id, user, lock=True)
        review = _open_review(ticket)
        review.closed_at = timezone.now()
        review.closed_by = user
        review.close_reason = reason[:MAX_REASON]
        review.save(update_fields=["closed_at", "closed_by", "close_reason"])
        audit(
            AuditAction.REVIEW_CLOSED,
            f"Review closed by {user.get_username()}: {review.close_reason}",
            ticket=ticket,
            acting_user=user,
            details={"reason": review.close_reason},
        )
    return review


@dataclass(frozen=True)
class RunResult:
    ticket: Ticket
    approved: bool  # the reviewer's approval counted
    message: str


def review_run(ticket_id: str, *, user: User) -> RunResult:
    """Run the ticket's proposal under a person's decision: back to awaiting approval with a
    new request, then the reviewer's approval through the approval service (which may
    refuse it: one's own ticket, not this policy's approver; the request then waits for
    others). Only an approver starts a run: moving a ticket back to ``awaiting_approval``
    is an approver's decision."""
    with transaction.atomic():
        ticket = ticket_for_review(ticket_id, user, lock=True)
        if not may_approve_anything(user):
            raise Forbidden(
                "Only an approver may run a proposal from the review queue: you hold no "
                "approval permission and no policy lists you as an approver.",
                code="not_allowed",
            )
        review = _open_review(ticket)
        refusal = can_run(ticket)
        if refusal:
            raise Conflict(f"Cannot run the proposal: {refusal}.", code="cannot_run")
        ticket_transition(
            ticket,
            TicketStatus.AWAITING_APPROVAL,
            reason=f"{user.get_username()} runs the proposal from the review queue: a person "
            "decides",
            acting_user=user,
        )
        approval_request_open(ticket)
        review.assignee = user
        review.taken_at = review.taken_at or timezone.now()
        review.save(update_fields=["assignee", "taken_at"])
        audit(
            AuditAction.REVIEW_RUN,
            f"{user.get_username()} sent the proposal to approval from the review queue",
            ticket=ticket,
            acting_user=user,
        )
        digest = current_digest(ticket)
    try:
        result = approval_grant(
            ticket.ticket_id,
            acting_user=user,
            comment="Run from the review queue",
            shown_digest=digest,
            via=ApprovalChannel.REVIEW,
        )
    except ApplicationError as exc:
        return RunResult(
            ticket,
            False,
            f"The proposal waits for approval; yours did not count: {exc.message}",
        )
    return RunResult(result.ticket, True, result.message)
