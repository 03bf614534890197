"""Who may approve, in one place (docs/approvals.md).

A user whose e-mail is in the governing policy's ``approvers``; where the category has no
policy or its policy lists none, a user holding ``remediation.approve_remediation``. An
empty list never means "everyone". Nobody approves a ticket they submitted. Inactive users
approve nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from policies.models import AutoRemediationPolicy
from policies.selectors import owners_refusing, policy_by_name, team_ids_of
from remediation.approvals.models import ApprovalRequest
from remediation.tickets.access import can_see_all_tickets
from remediation.tickets.models import Ticket

APPROVE_PERMISSION = "remediation.approve_remediation"


@dataclass(frozen=True)
class Refusal:
    code: str  # not_allowed, own_ticket
    message: str


def _email(user: User | AnonymousUser) -> str:
    return (getattr(user, "email", "") or "").strip().lower()


def approver_emails(request: ApprovalRequest) -> tuple[str, ...]:
    """The listed approvers of the policy that governs ``request``: the policy as it is now
    (an admin who removes someone takes effect at once), or the list it had when the request
    opened if the policy was deleted since."""
    policy = policy_by_name(request.policy_name) if request.policy_name else None
    emails = policy.approvers if policy is not None else request.approvers
    return tuple(str(e).strip().lower() for e in emails or () if str(e).strip())


def team_refusal(user: User | AnonymousUser, ticket: Ticket) -> Refusal | None:
    """Why ``user`` may not decide ``ticket`` as far as teams go: a ticket whose category (or
    system) a team owns is decided only by a member of an owning team. None when no team
    owns it, or when ``user`` is in one that does. Asked by the approval service (approve,
    reject, a run from the review queue) and by the review queue (take, close, hand fix)."""
    owners = owners_refusing(user, ticket.category, ticket.affected_system)
    if not owners:
        return None
    names = ", ".join(t.name for t in owners)
    return Refusal(
        "not_your_team",
        f"Ticket {ticket.ticket_id} belongs to team {names}; only its members decide it.",
    )


def team_member_emails(request: ApprovalRequest) -> tuple[str, ...]:
    """The e-mail addresses of the members of the team the governing policy names as its
    approvers (``approvers_team``), as it is now; empty when it names none."""
    policy = policy_by_name(request.policy_name) if request.policy_name else None
    team = policy.approvers_team if policy is not None else None
    if team is None:
        return ()
    return tuple(
        e.strip().lower()
        for e in team.members.filter(is_active=True).values_list("email", flat=True)
        if e and e.strip()
    )


def approval_refusal(
    user: User | AnonymousUser, ticket: Ticket, request: ApprovalRequest
) -> Refusal | None:
    """Why ``user`` may not decide ``request``, or None when they may."""
    if not user.is_authenticated or not user.is_active:
        return Refusal("not_allowed", "You must be logged in as an active user to approve.")
    if ticket.submitted_by_id == user.pk:
        return Refusal("own_ticket", "You submitted this ticket; someone else must approve it.")
    refusal = team_refusal(user, ticket)
    if refusal is not None:
        return refusal
    emails = approver_emails(request) + team_member_emails(request)
    if emails:
        if _email(user) not in emails:
            return Refusal(
                "not_allowed",
                f"Only the approvers listed in policy {request.policy_name!r} may approve "
                "this ticket, and your e-mail address is not among them.",
            )
        return None
    if not user.has_perm(APPROVE_PERMISSION):
        return Refusal(
            "not_allowed",
            "You do not hold the permission to approve remediation "
            "(ask an administrator to add you to the Approvers group).",
        )
    return None


def policy_names_listing(user: User | AnonymousUser) -> list[str]:
    """Names of the policies that list ``user``'s e-mail among their approvers, or whose
    approvers' team ``user`` belongs to."""
    email = _email(user)
    mine = team_ids_of(user)
    return [
        name
        for name, approvers, team_id in AutoRemediationPolicy.objects.values_list(
            "name", "approvers", "approvers_team_id"
        )
        if (team_id is not None and team_id in mine)
        or (
            email
            and isinstance(approvers, list)
            and email in {str(a).strip().lower() for a in approvers}
        )
    ]


def may_approve_anything(user: User | AnonymousUser) -> bool:
    """Whether ``user`` is an approver at all (the permission, or listed by some policy)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm(APPROVE_PERMISSION) or bool(policy_names_listing(user))


def may_use_approval_pages(user: User | AnonymousUser) -> bool:
    """The approval pages are for the people who decide: approvers (the permission, or
    listed by a policy) and staff. Seeing every ticket (the Operators group) reads tickets
    through the API; it does not open the approval queue."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(getattr(user, "is_staff", False)) or may_approve_anything(user)


def visible_requests(user: User | AnonymousUser) -> QuerySet[ApprovalRequest]:
    """Requests ``user`` may see: every one for those who see every ticket, else those of
    the policies that list them."""
    if not may_use_approval_pages(user):
        return ApprovalRequest.objects.none()
    if can_see_all_tickets(user):
        return ApprovalRequest.objects.all()
    return ApprovalRequest.objects.filter(policy_name__in=policy_names_listing(user))
