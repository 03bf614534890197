"""Writes of the approval flow: open a request, approve, reject, expire; and the shadow
agreement of a ticket (``agreement_record``: an approval agrees with the proposal, a
rejection disagrees, trusted feedback says either, see ``rules``).

The API, the pages and the admin call ``approval_grant`` / ``approval_reject``; nothing else
decides a request. Each runs in one transaction that locks the ticket row first (then the
request row), so concurrent approvals of one ticket serialize: exactly one of them sees the
last needed approval and hands the ticket to execution; the others find it decided.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from config.errors import ApplicationError, Conflict, Forbidden, NotFound
from config.queue import urgent
from patterns.services import PatternChange, agreement_moved, pattern_update, rejection_counted
from policies.selectors import pause_in_force, pause_sentence, policy_by_name
from remediation.approvals.access import approval_refusal, may_approve_anything
from remediation.approvals.models import (
    AgreementSource,
    ApprovalChannel,
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    RejectedOperation,
    ShadowAgreement,
)
from remediation.approvals.selectors import counting_approvers, current_digest
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.catalogue.rules.digest import actions_digest
from remediation.execution.models import ExecutionVia
from remediation.execution.services import execution_request
from remediation.notifications.services import slack_update_later
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.selectors import pattern_ref
from remediation.tickets.transitions import ticket_transition

NOTIFY_TASK = "remediation.approvals.tasks.notify_approvers"
DEFAULT_REQUIRED_APPROVALS = 1
DEFAULT_TIMEOUT_MINUTES = 240
MAX_COMMENT = 2000


@dataclass(frozen=True)
class ApprovalResult:
    ticket: Ticket
    request: ApprovalRequest
    approve: bool
    counted: bool  # False when this person had already approved these actions
    approvals_given: int
    approvals_required: int
    execution_requested: bool
    message: str


def approval_request_open(ticket: Ticket) -> ApprovalRequest:
    """Open the approval request of a ticket the decision just sent to ``awaiting_approval``.

    Preconditions: inside the decision's transaction, ticket row locked. The policy named by
    the decision fixes how many approvals are needed and when the request expires. The
    notification task is enqueued on the ORM broker in this transaction, so it is sent only
    once the request is committed (and never if it rolls back).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("approval_request_open must run inside the decision's transaction")
    policy = policy_by_name(ticket.decision_policy) if ticket.decision_policy else None
    required = policy.required_approvals if policy is not None else DEFAULT_REQUIRED_APPROVALS
    minutes = policy.approval_timeout_minutes if policy is not None else DEFAULT_TIMEOUT_MINUTES
    now = timezone.now()
    request = ApprovalRequest.objects.create(
        ticket=ticket,
        policy_name=policy.name if policy is not None else "",
        approvers=_approvers_of(policy),
        required_approvals=max(1, required),
        actions_digest=actions_digest(ticket.suggested_actions or []),
        opened_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    who = (
        "the approvers of policy " + policy.name
        if policy and policy.approvers
        else ("holders of the approve_remediation permission")
    )
    audit(
        AuditAction.APPROVAL_REQUESTED,
        f"Waiting for {request.required_approvals} approval(s) from {who} "
        f"until {request.expires_at:%Y-%m-%d %H:%M} UTC",
        ticket=ticket,
        details={
            "required_approvals": request.required_approvals,
            "expires_at": request.expires_at.isoformat(),
            "actions_digest": request.actions_digest,
            "policy": request.policy_name or None,
        },
    )
    with urgent():  # people are waiting to be told
        async_task(NOTIFY_TASK, request.pk, task_name=f"notify approvers {ticket.ticket_id}"[:100])
    return request


def _approvers_of(policy: Any) -> list[str]:
    """The addresses a request is sent to: the policy's list, then its team's members."""
    if policy is None:
        return []
    emails = [str(e) for e in policy.approvers or []]
    team = policy.approvers_team
    if team is not None:
        listed = {e.strip().lower() for e in emails}
        for email in team.members.filter(is_active=True).values_list("email", flat=True):
            if email and email.strip().lower() not in listed:
                emails.append(email)
                listed.add(email.strip().lower())
    return emails


def _load(ticket_id: str, user: User | AnonymousUser) -> tuple[Ticket, ApprovalRequest]:
    """Lock the ticket, then its request, and refuse what is not waiting or not this
    user's to decide. Order of refusals: not an approver at all (403, before anything about
    the ticket is revealed), unknown ticket (404), not waiting (409), not this ticket's
    approver or own ticket (403)."""
    if not may_approve_anything(user):
        raise Forbidden(
            "You may not approve remediation: you hold no approval permission and no policy "
            "lists you as an approver.",
            code="not_allowed",
        )
    ticket = Ticket.objects.select_for_update().filter(ticket_id=ticket_id).first()
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id!r}.", fields={"ticket_id": ["Not found."]})
    request = ApprovalRequest.objects.select_for_update().filter(ticket=ticket).first()
    if (
        ticket.status != TicketStatus.AWAITING_APPROVAL
        or request is None
        or (request.status != ApprovalStatus.PENDING)
    ):
        state = request.get_status_display().lower() if request is not None else ticket.status
        raise Conflict(
            f"Ticket {ticket.ticket_id} is not awaiting approval (it is {ticket.status}"
            + (f"; its approval request is {state}" if request is not None else "")
            + "): it was already decided.",
            code="not_awaiting_approval",
        )
    refusal = approval_refusal(user, ticket, request)
    if refusal is not None:
        raise Forbidden(refusal.message, code=refusal.code)
    return ticket, request


def _expire(ticket: Ticket, request: ApprovalRequest, *, now: datetime) -> None:
    request.status = ApprovalStatus.EXPIRED
    request.decided_at = now
    request.decided_reason = f"Nobody approved before {request.expires_at:%Y-%m-%d %H:%M} UTC."
    request.save(update_fields=["status", "decided_at", "decided_reason"])
    audit(
        AuditAction.APPROVAL_EXPIRED,
        f"Approval request expired: {request.decided_reason}",
        ticket=ticket,
        details={"expires_at": request.expires_at.isoformat()},
    )
    ticket_transition(
        ticket, TicketStatus.MANUAL_REVIEW, reason=f"Approval expired: {request.decided_reason}"
    )
    slack_update_later(ticket, key=f"approval:{request.pk}:expired", event="expired")


def _unless_expired(
    ticket_id: str,
    user: User,
    decide: Callable[[Ticket, ApprovalRequest, datetime], ApprovalResult],
) -> ApprovalResult:
    """Run ``decide`` on the locked ticket and request, in one transaction; but a request
    past its deadline is expired instead (committed) and the caller refused."""
    with transaction.atomic():
        ticket, request = _load(ticket_id, user)
        now = timezone.now()
        # While the ticket's category is paused its request does not expire: the deadline
        # moves on by the length of the pause when remediation resumes
        # (``approvals_after_resume``).
        if request.expires_at > now or pause_in_force(ticket.category) is not None:
            result = decide(ticket, request, now)
            # The approval message in Slack shows the decision (sent after commit).
            slack_update_later(
                ticket, key=f"approval:{request.pk}:{request.decisions.count()}", event="approval"
            )
            return result
        _expire(ticket, request, now=now)
    raise Conflict(
        f"The approval request of ticket {ticket_id} expired; the ticket went to manual review.",
        code="approval_expired",
    )


def _check_fresh(ticket: Ticket, request: ApprovalRequest, shown_digest: str | None) -> str:
    """The current digest; refuses when the caller was shown other actions."""
    digest = current_digest(ticket)
    if shown_digest is not None and shown_digest != digest:
        raise Conflict(
            "The actions changed since you looked at them; reload the request and review "
            "the current actions before deciding.",
            code="actions_changed",
            fields={"actions_digest": ["Does not match the current actions."]},
        )
    return digest


def approval_grant(
    ticket_id: str,
    *,
    acting_user: User,
    comment: str = "",
    shown_digest: str | None = None,
    via: str = ApprovalChannel.API,
) -> ApprovalResult:
    """Record ``acting_user``'s approval of the ticket's current actions.

    The approval counts once per person per digest. When it completes the needed count, the
    request is approved and the ticket handed to execution's choke point in the same
    transaction. An expired request is expired here (committed) and then refused.
    """
    return _unless_expired(
        ticket_id,
        acting_user,
        lambda ticket, request, now: _grant(
            ticket, request, acting_user, comment, shown_digest, via, now
        ),
    )


def _grant(
    ticket: Ticket,
    request: ApprovalRequest,
    user: User,
    comment: str,
    shown_digest: str | None,
    via: str,
    now: datetime,
) -> ApprovalResult:
    digest = _check_fresh(ticket, request, shown_digest)
    counted = False
    if not request.decisions.filter(approver=user, approve=True, actions_digest=digest).exists():
        try:
            with transaction.atomic():
                ApprovalDecision.objects.create(
                    request=request,
                    approver=user,
                    approve=True,
                    comment=comment,
                    actions_digest=digest,
                    via=via,
                )
            counted = True
        except IntegrityError:  # the same person, twice at once: the first one counts
            counted = False
    given = len(counting_approvers(request, ticket, digest))
    required = request.required_approvals
    if counted:
        audit(
            AuditAction.APPROVAL_GRANTED,
            f"Approved by {user.get_username()} via {via} ({given} of {required})"
            + (f": {comment}" if comment else ""),
            ticket=ticket,
            acting_user=user,
            details={"via": via, "comment": comment, "actions_digest": digest, "given": given},
        )
        agreed = agreement_record(
            ticket,
            agreed=True,
            source=AgreementSource.APPROVAL,
            acting_user=user,
            reason=f"{user.get_username()} approved the proposed actions ({digest[:12]}).",
            at=now,
        )
        if agreed is not None:
            pattern_update(pattern_ref(ticket), agreed, ticket=ticket, acting_user=user)
    executed = False
    pause = pause_in_force(ticket.category) if given >= required else None
    if pause is not None:
        # Enough approvals, but remediation is paused: the request stays pending (not
        # failed, not expired) and runs when the pause is lifted (``approvals_after_resume``).
        held = pause_sentence(pause)
        audit(
            AuditAction.APPROVAL_GRANTED,
            f"Approved by {given} of {required}, held: {held}",
            ticket=ticket,
            acting_user=user,
            details={"held": held, "given": given, "required": required},
        )
        message = (
            f"Approval recorded ({given} of {required}), but it waits: {held}. It runs when "
            "remediation resumes, unless a person decides otherwise before."
        )
    elif given >= required:
        request.status = ApprovalStatus.APPROVED
        request.decided_at = now
        request.decided_reason = f"Approved by {given} of {required} approver(s)."
        request.save(update_fields=["status", "decided_at", "decided_reason"])
        # Whatever the channel (API, page, admin), this is an approval by a person.
        execution_request(ticket, acting_user=user, via=ExecutionVia.APPROVAL)
        executed = True
        message = f"Approved by {given} of {required}: the actions were handed to execution."
    elif counted:
        message = f"Approval recorded: {given} of {required}; waiting for more approvers."
    else:
        message = f"You had already approved these actions; it counts once ({given} of {required})."
    return ApprovalResult(ticket, request, True, counted, given, required, executed, message)


def approval_reject(
    ticket_id: str,
    *,
    acting_user: User,
    comment: str,
    shown_digest: str | None = None,
    via: str = ApprovalChannel.API,
    not_now: bool = False,
) -> ApprovalResult:
    """Any rejection ends the request: the ticket goes to ``manual_review`` with who and
    why, and the refused operations are remembered for the ticket's pattern — unless it is
    a "not now" (``not_now``): the fix may be right, the moment is not, so nothing counts
    against the pattern (no refused operations, no rejection, no disagreement)."""
    if not comment.strip():
        raise ApplicationError(
            "comment: say why you reject; a comment is required.",
            code="validation_error",
            fields={"comment": ["Required when rejecting."]},
        )
    return _unless_expired(
        ticket_id,
        acting_user,
        lambda ticket, request, now: _reject(
            ticket, request, acting_user, comment, shown_digest, via, now, not_now=not_now
        ),
    )


def _reject(
    ticket: Ticket,
    request: ApprovalRequest,
    user: User,
    comment: str,
    shown_digest: str | None,
    via: str,
    now: datetime,
    *,
    not_now: bool,
) -> ApprovalResult:
    digest = _check_fresh(ticket, request, shown_digest)
    ApprovalDecision.objects.create(
        request=request,
        approver=user,
        approve=False,
        not_now=not_now,
        comment=comment,
        actions_digest=digest,
        via=via,
    )
    if not_now:
        reason = f"Put off by {user.get_username()} (not now): {comment}"
    else:
        reason = f"Rejected by {user.get_username()}: {comment}"
    request.status = ApprovalStatus.REJECTED
    request.decided_at = now
    request.decided_reason = reason
    request.save(update_fields=["status", "decided_at", "decided_reason"])
    operations = sorted(
        {str(a.get("operation")) for a in ticket.suggested_actions or [] if a.get("operation")}
    )
    audit(
        AuditAction.APPROVAL_REJECTED,
        f"{reason} (via {via})",
        ticket=ticket,
        acting_user=user,
        details={
            "via": via,
            "comment": comment,
            "actions_digest": digest,
            "refused": [] if not_now else operations,
            "not_now": not_now,
        },
    )
    if not_now:
        # The moment was refused, not the fix: the pattern learns nothing from it.
        ticket_transition(ticket, TicketStatus.MANUAL_REVIEW, reason=reason, acting_user=user)
        return ApprovalResult(
            ticket, request, False, True, 0, request.required_approvals, False, reason
        )
    disagreed = agreement_record(
        ticket,
        agreed=False,
        source=AgreementSource.REJECTION,
        acting_user=user,
        reason=f"{user.get_username()} rejected the proposed actions: {comment}",
        at=now,
    )
    if ticket.pattern is not None:
        _remember_refusals(ticket, operations, now=now, extra=disagreed)
    ticket_transition(ticket, TicketStatus.MANUAL_REVIEW, reason=reason, acting_user=user)
    return ApprovalResult(
        ticket, request, False, True, 0, request.required_approvals, False, reason
    )


def _remember_refusals(
    ticket: Ticket, operations: list[str], *, now: datetime, extra: PatternChange | None
) -> None:
    pattern = ticket.pattern
    assert pattern is not None
    for operation in operations:
        row, _ = RejectedOperation.objects.select_for_update().get_or_create(
            pattern=pattern,
            operation=operation,
            defaults={"first_rejected_at": now, "last_rejected_at": now},
        )
        row.rejection_count += 1
        row.last_rejected_at = now
        row.save(update_fields=["rejection_count", "last_rejected_at"])
    changes = [rejection_counted] if extra is None else [rejection_counted, extra]
    pattern_update(pattern, *changes, ticket=ticket)


def agreement_record(
    ticket: Ticket,
    *,
    agreed: bool,
    source: str,
    acting_user: User,
    reason: str,
    at: datetime | None = None,
) -> PatternChange | None:
    """Store whether the system's proposal for ``ticket`` matched what ``acting_user`` did.

    Preconditions: inside the transaction that holds the ticket's row lock, ``acting_user``
    trusted for this ticket (an approver deciding it, or trusted feedback). One row per
    ticket: this verdict replaces any earlier one (the last trusted word wins) and is
    audited (``agreement.recorded``). Returns the change of the ticket's pattern the caller
    must apply in its own ``pattern_update`` (so one event is one pattern write), or None
    when the ticket has no pattern or its verdict did not change. A verdict counted on
    another pattern before is taken off that pattern here.
    """
    now = at or timezone.now()
    row = ShadowAgreement.objects.filter(ticket=ticket).first()
    previous = row.agreed if row is not None else None
    before: bool | None = None  # the verdict counted on the ticket's pattern now
    if row is None:
        row = ShadowAgreement(ticket=ticket)
    elif row.pattern_id == ticket.pattern_id:
        before = row.agreed
    elif row.pattern_id is not None:
        pattern_update(
            row.pattern_id,
            agreement_moved(old=row.agreed, new=None),
            ticket=ticket,
            acting_user=acting_user,
        )
    row.pattern_id = ticket.pattern_id
    row.agreed = agreed
    row.source = source
    row.decided_by = acting_user
    row.decided_at = now
    row.reason = reason
    row.save()
    verdict = "agreed with" if agreed else "disagreed with"
    audit(
        AuditAction.SHADOW_AGREEMENT,
        f"{acting_user.get_username()} {verdict} the system's proposal ({source}): {reason}",
        ticket=ticket,
        acting_user=acting_user,
        details={
            "agreed": agreed,
            "source": str(source),
            "previous": previous,
            "pattern": ticket.pattern_id,
        },
    )
    if ticket.pattern_id is None or before is agreed:
        return None
    return agreement_moved(old=before, new=agreed)


def approval_expire_due(*, now: datetime | None = None) -> int:
    """Expire every pending request past its deadline; returns how many. Safe to run twice
    and beside approvals: each request is re-read under the ticket's lock."""
    now = now or timezone.now()
    due = list(
        ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("ticket_id", flat=True)[:500]
    )
    expired = 0
    for ticket_pk in due:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_pk)
            request = ApprovalRequest.objects.select_for_update().get(ticket=ticket)
            if request.status != ApprovalStatus.PENDING or request.expires_at > now:
                continue
            if ticket.status != TicketStatus.AWAITING_APPROVAL:
                continue
            if pause_in_force(ticket.category) is not None:
                continue  # a pause stops the clock: it moves on when remediation resumes
            _expire(ticket, request, now=now)
            expired += 1
    return expired


def approvals_after_resume(
    *, category: str, paused_at: datetime, now: datetime | None = None
) -> int:
    """After the pause of ``category`` ("" every category) that began at ``paused_at`` was
    lifted: each request waiting in its scope gets its deadline moved on by the time it spent
    paused, and one that has its approvals already is handed to execution. Returns how many
    were handed on. Safe to run twice (each request is re-read under the ticket's lock; a
    request still held by another pause is left as it is)."""
    now = now or timezone.now()
    waiting = ApprovalRequest.objects.filter(
        status=ApprovalStatus.PENDING, ticket__status=TicketStatus.AWAITING_APPROVAL
    )
    if category:
        waiting = waiting.filter(ticket__category=category)
    handed = 0
    for ticket_pk in list(waiting.values_list("ticket_id", flat=True)[:2000]):
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_pk)
            request = ApprovalRequest.objects.select_for_update().get(ticket=ticket)
            if request.status != ApprovalStatus.PENDING:
                continue
            if ticket.status != TicketStatus.AWAITING_APPROVAL:
                continue
            if pause_in_force(ticket.category) is not None:
                continue
            held_since = max(paused_at, request.opened_at)
            if held_since < now and request.decided_reason != _shifted(paused_at):
                request.expires_at = request.expires_at + (now - held_since)
                request.decided_reason = _shifted(paused_at)  # moved once per pause
                request.save(update_fields=["expires_at", "decided_reason"])
            digest = current_digest(ticket)
            given = len(counting_approvers(request, ticket, digest))
            if given < request.required_approvals:
                continue
            request.status = ApprovalStatus.APPROVED
            request.decided_at = now
            request.decided_reason = (
                f"Approved by {given} of {request.required_approvals} approver(s); it waited "
                "for remediation to resume."
            )
            request.save(update_fields=["status", "decided_at", "decided_reason"])
            last = (
                request.decisions.filter(approve=True, actions_digest=digest)
                .select_related("approver")
                .order_by("-created_at", "-id")
                .first()
            )
            execution_request(
                ticket,
                acting_user=last.approver if last is not None else None,
                via=ExecutionVia.APPROVAL,
            )
            handed += 1
    return handed


def _shifted(paused_at: datetime) -> str:
    return f"Deadline moved on after the pause of {paused_at.isoformat()}."
