"""Reads of the review queue: which tickets wait for a person, why, and whether each
proposal can be run from the queue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from feedback.inbox.rules import REVIEW_KINDS
from feedback.inbox.selectors import Filters, inbox
from policies.models import AutoRemediationPolicy
from policies.selectors import policy_for_category
from remediation.approvals.models import ApprovalRequest
from remediation.catalogue.rules.operations import validate_suggestions
from remediation.execution.claim import policy_rule_refusal
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus

QUEUE_STATUSES = (
    TicketStatus.MANUAL_REVIEW,
    TicketStatus.FAILED,
    TicketStatus.PARTIALLY_REMEDIATED,
)


def review_queue(user: User | AnonymousUser) -> QuerySet[Ticket]:
    """The open reviews: the inbox (``feedback.inbox.selectors.inbox``) of its review kinds,
    the user's teams' first, then oldest first; each says whether people were already asked
    to approve it (``has_approval_request``, read by ``can_run``)."""
    return inbox(user, Filters(kinds=REVIEW_KINDS)).annotate(
        has_approval_request=Exists(ApprovalRequest.objects.filter(ticket=OuterRef("pk")))
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
    # A person runs it from the queue: the policy's time window (the machine's) does not apply.
    return policy_rule_refusal(ticket, policy, actions, timezone.now(), by_person=True)
