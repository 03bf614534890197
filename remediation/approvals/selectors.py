"""Reads of the approval flow, including the check execution re-runs before it acts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from patterns.models import Pattern
from remediation.approvals.access import approval_refusal
from remediation.approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    RejectedOperation,
)
from remediation.catalogue.rules.digest import actions_digest
from remediation.tickets.models import Ticket, TicketOutcome

# How many concluded tickets of a pattern are read to weigh rejections against successes.
MAX_SUCCESSES_READ = 1000


@dataclass(frozen=True)
class ApprovalCheck:
    """Whether the ticket's current actions may run as far as approval is concerned."""

    ok: bool
    reason: str
    approvals_given: int = 0
    approvals_required: int = 0


def current_digest(ticket: Ticket) -> str:
    return actions_digest(ticket.suggested_actions or [])


def is_expired(request: ApprovalRequest, now: datetime) -> bool:
    """Expired when marked so, or still pending past its deadline. An approval completed
    before the deadline stays valid while its execution runs."""
    if request.status == ApprovalStatus.EXPIRED:
        return True
    if request.status == ApprovalStatus.PENDING:
        return request.expires_at <= now
    if request.status == ApprovalStatus.APPROVED:
        return request.decided_at is None or request.decided_at > request.expires_at
    return False


def counting_approvers(request: ApprovalRequest, ticket: Ticket, digest: str) -> list[User]:
    """Distinct people whose approval counts now: they approved exactly ``digest`` and are
    still allowed to approve this ticket (a person removed from the policy stops counting)."""
    seen: dict[int, User] = {}
    decisions = (
        ApprovalDecision.objects.filter(request=request, approve=True, actions_digest=digest)
        .select_related("approver")
        .order_by("created_at", "id")
    )
    for decision in decisions:
        user = decision.approver
        if user.pk in seen:
            continue
        if approval_refusal(user, ticket, request) is None:
            seen[user.pk] = user
    return list(seen.values())


def approval_check(ticket: Ticket, *, now: datetime | None = None) -> ApprovalCheck:
    """ok when the stored decision did not require approval, or when ``required_approvals``
    distinct authorized approvers approved the CURRENT actions digest, the request has not
    expired and was not rejected. Called again by execution right before it acts."""
    now = now or timezone.now()
    decision = ticket.remediation_decision or {}
    if not decision.get("requires_approval"):
        return ApprovalCheck(True, "The decision did not require approval.")
    request = ApprovalRequest.objects.filter(ticket=ticket).first()
    if request is None:
        return ApprovalCheck(False, "Approval is required but no approval request exists.")
    required = request.required_approvals
    if request.status == ApprovalStatus.REJECTED:
        return ApprovalCheck(False, f"The approval request was rejected: {request.decided_reason}")
    if is_expired(request, now):
        return ApprovalCheck(False, "The approval request expired.", 0, required)
    digest = current_digest(ticket)
    given = len(counting_approvers(request, ticket, digest))
    if given < required:
        changed = digest != request.actions_digest and ApprovalDecision.objects.filter(
            request=request, approve=True
        ).exclude(actions_digest=digest)
        why = (
            "the actions changed after approval, so earlier approvals no longer count"
            if changed
            else "not enough approvals"
        )
        return ApprovalCheck(False, f"{given} of {required} approvals: {why}.", given, required)
    return ApprovalCheck(True, f"Approved by {given} of {required} approvers.", given, required)


# --- rejections teach ---------------------------------------------------------------------


def _operations_in(actions: Iterable[Any]) -> set[str]:
    return {
        str(a.get("operation")) for a in actions or [] if isinstance(a, dict) and a.get("operation")
    }


def later_successes(row: RejectedOperation) -> int:
    """Tickets of the pattern that ended in success after the first rejection and used the
    operation: it was among their actions, or a person's feedback says they took it."""
    tickets = (
        Ticket.objects.filter(pattern_id=row.pattern_id, outcome=TicketOutcome.SUCCESS)
        .filter(
            Q(resolved_at__gt=row.first_rejected_at)
            | Q(resolved_at__isnull=True, updated_at__gt=row.first_rejected_at)
        )
        .prefetch_related("feedback")
        .order_by("-id")[:MAX_SUCCESSES_READ]
    )
    count = 0
    for ticket in tickets:
        used = _operations_in(ticket.suggested_actions)
        for feedback in ticket.feedback.all():  # type: ignore[attr-defined]
            used |= _operations_in(feedback.actual_actions_taken)
        count += row.operation in used
    return count


def measured_fixes_before(row: RejectedOperation) -> int:
    """Fixes of the pattern that ran the operation before the first rejection and were
    measured to hold: executed, success, and confirmed after the hold time (``fix_held_at``;
    ``remediation.tickets.outcomes``). Measurements, not opinions."""
    tickets = (
        Ticket.objects.filter(
            pattern_id=row.pattern_id,
            outcome=TicketOutcome.SUCCESS,
            auto_remediation_executed=True,
            fix_held_at__isnull=False,
            resolved_at__lte=row.first_rejected_at,
        )
        .only("suggested_actions")
        .order_by("-id")[:MAX_SUCCESSES_READ]
    )
    return sum(row.operation in _operations_in(t.suggested_actions) for t in tickets)


@dataclass(frozen=True)
class Refusal:
    """What people's rejections of an operation for a pattern mean for its next proposal.

    ``withdrawn``: not proposed (it moves to ``dropped_actions`` with ``reason``). Otherwise
    it is still proposed, but a person decides (the decision names ``reason``)."""

    operation: str
    reason: str
    withdrawn: bool


def rejected_operations_for_pattern(pattern: Pattern | None) -> dict[str, Refusal]:
    """Operations people refused for ``pattern`` and that later successes have not yet
    outweighed: {operation: Refusal}.

    Measured outcomes outweigh opinions: while the rejections are no more than the fixes
    with that operation measured to hold before the first rejection, the operation is still
    proposed and a person decides each time (one person's mistaken rejection does not stop
    a fix that has been seen to work); once the rejections outnumber them, it is withdrawn.
    Either way, more later successes than rejections clear it."""
    if pattern is None:
        return {}
    refused: dict[str, Refusal] = {}
    for row in RejectedOperation.objects.filter(pattern=pattern, rejection_count__gt=0):
        successes = later_successes(row)
        if successes > row.rejection_count:
            continue
        measured = measured_fixes_before(row)
        told = (
            f"{row.operation}: approvers rejected it for this pattern "
            f"{row.rejection_count} time(s) and only {successes} later success(es) "
            "outweigh that"
        )
        if measured >= row.rejection_count:
            refused[row.operation] = Refusal(
                row.operation,
                f"{told}; {measured} earlier fix(es) with it were measured to hold, so it "
                "is proposed and a person decides",
                withdrawn=False,
            )
        else:
            refused[row.operation] = Refusal(
                row.operation, f"{told}, so it is not proposed", withdrawn=True
            )
    return refused


# --- the pages ----------------------------------------------------------------------------


def request_list(
    requests: QuerySet[ApprovalRequest],
    *,
    statuses: Iterable[str],
    category: str | None = None,
    risk: str | None = None,
) -> QuerySet[ApprovalRequest]:
    qs = requests.filter(status__in=list(statuses)).select_related(
        "ticket", "ticket__pattern", "ticket__submitted_by"
    )
    if category:
        qs = qs.filter(ticket__category=category)
    if risk:
        qs = qs.filter(ticket__remediation_decision__risk_level=risk)
    return qs


def decisions_of(request: ApprovalRequest) -> QuerySet[ApprovalDecision]:
    return request.decisions.select_related("approver").order_by("created_at", "id")


def similar_tickets(ticket: Ticket, limit: int = 10) -> QuerySet[Ticket]:
    if ticket.pattern_id is None:
        return Ticket.objects.none()
    return (
        Ticket.objects.filter(pattern_id=ticket.pattern_id)
        .exclude(pk=ticket.pk)
        .order_by("-created_at", "-id")[:limit]
    )
