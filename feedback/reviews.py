"""The review queue: tickets the system will not, or could not, finish by itself, and what
a person does with each. Page (``/reviews/``) and API (``/api/v1/reviews``) call these.

A ticket is in the queue while its status is ``manual_review``, ``failed`` or
``partially_remediated`` (an unknown execution outcome is ``manual_review``) and nobody
closed its review. A person who may work the queue (staff, the Operators' ``feedback.teach``
or the Approvers' ``remediation.approve_remediation``) can:

* **take** it: the assignment is shown to everyone else (taking it over is allowed, and
  audited);
* **run its proposal** under a person's decision: a ticket where nothing ran, nobody
  decided yet and whose submitter opted in goes back to ``awaiting_approval`` with a new
  approval request, and the
  reviewer's own approval is given through the approval service, so every rule holds (the
  permission, never one's own ticket, M-of-N, the digest); the choke point re-checks all of
  it before anything runs;
* **record what they did by hand**: trusted feedback with the actions taken (the feedback
  service: it concludes the ticket, teaches the pattern, feeds shadow agreement);
* **close** it with a reason: it leaves the queue; its status and outcome stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from config.errors import ApplicationError, Conflict, Forbidden, NotFound
from feedback.models import Review
from policies.models import AutoRemediationPolicy
from policies.selectors import policy_for_category
from remediation.approvals.models import ApprovalChannel, ApprovalRequest
from remediation.approvals.selectors import current_digest
from remediation.approvals.services import approval_grant, approval_request_open
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.catalogue.rules.operations import validate_suggestions
from remediation.execution.claim import policy_rule_refusal
from remediation.tickets.access import can_see_all_tickets
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.transitions import ticket_transition

QUEUE_STATUSES = (
    TicketStatus.MANUAL_REVIEW,
    TicketStatus.FAILED,
    TicketStatus.PARTIALLY_REMEDIATED,
)
MAX_REASON = 500


def may_review(user: User | AnonymousUser) -> bool:
    """Staff, Operators (``feedback.teach``) and Approvers (``approve_remediation``) who see
    every ticket: the queue lists everyone's."""
    return bool(
        user.is_authenticated
        and user.is_active
        and can_see_all_tickets(user)
        and (
            user.is_staff
            or user.has_perm("feedback.teach")
            or user.has_perm("remediation.approve_remediation")
        )
    )


def review_queue() -> QuerySet[Ticket]:
    """The open reviews, oldest first; each says whether people were already asked to
    approve it (``has_approval_request``, read by ``can_run``)."""
    return (
        Ticket.objects.filter(status__in=QUEUE_STATUSES)
        .exclude(review__closed_at__isnull=False)
        .select_related("review__assignee", "submitted_by")
        .annotate(
            has_approval_request=Exists(ApprovalRequest.objects.filter(ticket=OuterRef("pk")))
        )
        .order_by("created_at", "id")
    )


def policies_of(tickets: Iterable[Ticket]) -> dict[str, AutoRemediationPolicy | None]:
    """Each category's policy, read once for a page of the queue (``can_run``'s
    ``policies``)."""
    return {category: policy_for_category(category) for category in {t.category for t in tickets}}


def why(ticket: Ticket) -> str:
    """Why the ticket waits for a person, in a sentence."""
    if ticket.status == TicketStatus.MANUAL_REVIEW and ticket.outcome == TicketOutcome.UNKNOWN:
        if ticket.auto_remediation_executed:
            return f"The outcome of what ran is unknown: {ticket.status_reason}"
        return ticket.status_reason or "The system did not act on it."
    return ticket.status_reason or ticket.get_status_display()


def can_run(
    ticket: Ticket, policies: Mapping[str, AutoRemediationPolicy | None] | None = None
) -> str | None:
    """None when the proposal can be run from the queue, else why not. ``policies``: the
    categories' policies when already read (``policies_of``), else read here."""
    if ticket.status != TicketStatus.MANUAL_REVIEW or ticket.outcome != TicketOutcome.UNKNOWN:
        return "only a ticket in manual review with no outcome yet can run its proposal"
    if ticket.auto_remediation_executed:
        return "something already ran: reconcile its outcome instead"
    if not ticket.auto_remediation_enabled:
        return "its submitter did not opt in to remediation: a person acts on the resolution"
    actions, _ = validate_suggestions(ticket.suggested_actions or [])
    if not actions:
        return "it proposes no catalogue action"
    requested = getattr(ticket, "has_approval_request", None)  # annotated by review_queue
    if requested is None:
        requested = ApprovalRequest.objects.filter(ticket=ticket).exists()
    if requested:
        return (
            "people already decided its approval request (rejected or expired): record "
            "what you did by hand, or close it"
        )
    # What the claim would refuse even with approvals: said now, not after a person
    # approved it (the reason names the policy's rule: fix it by hand, or change the policy).
    policy = (
        policies[ticket.category]
        if policies is not None and ticket.category in policies
        else policy_for_category(ticket.category)
    )
    return policy_rule_refusal(ticket, policy, actions, timezone.now())


def _ticket(ticket_id: str, user: User | AnonymousUser, *, lock: bool = False) -> Ticket:
    if not may_review(user):
        raise Forbidden("You may not work the review queue.", code="not_allowed")
    tickets = Ticket.objects.select_for_update() if lock else Ticket.objects
    ticket = tickets.filter(ticket_id=ticket_id[:64]).first()
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id!r}.", fields={"ticket_id": ["Not found."]})
    return ticket


def _open_review(ticket: Ticket) -> Review:
    review, _ = Review.objects.select_for_update().get_or_create(ticket=ticket)
    if review.closed_at is not None or ticket.status not in QUEUE_STATUSES:
        raise Conflict(
            f"Ticket {ticket.ticket_id} is not in the review queue.", code="not_in_review"
        )
    return review


def review_take(ticket_id: str, *, user: User) -> Review:
    with transaction.atomic():
        ticket = _ticket(ticket_id, user, lock=True)
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
        ticket = _ticket(ticket_id, user, lock=True)
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
    refuse it: one's own ticket, no permission; the request then waits for others)."""
    with transaction.atomic():
        ticket = _ticket(ticket_id, user, lock=True)
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
