"""The inbox: every ticket a person must act on, with its kind, why, owner, age and the one
action to take. One selector, ``inbox``; the approval queue (``/approvals/``) and the review
queue (``/reviews/``, ``GET /api/v1/reviews``) are its filters by kind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Case, CharField, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from feedback.inbox.rules import KINDS, Kind, age_text, minutes_left, why_unhandled
from feedback.reviews.access import may_review
from policies.models import RemediationPause, Team
from policies.selectors import PAUSED_PREFIX, pause_dict, pause_for, pauses_in_force, teams
from remediation.approvals.access import may_use_approval_pages, visible_requests
from remediation.approvals.models import ApprovalStatus
from remediation.approvals.selectors import counting_approvers, current_digest
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus

KIND = "inbox_kind"  # the annotation ``with_kind`` adds
OPEN = Q(review__closed_at__isnull=True)  # no review row, or one nobody closed
DECIDED_WHILE_PAUSED = Q(
    decision_facts__outcome="not_enabled",
    decision_facts__paused__startswith=PAUSED_PREFIX,
)


def with_kind(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """``tickets`` annotated with ``inbox_kind`` (None: nobody must act): the table of
    ``feedback.inbox.rules.classify``, in SQL."""
    review_statuses = [
        TicketStatus.MANUAL_REVIEW,
        TicketStatus.FAILED,
        TicketStatus.PARTIALLY_REMEDIATED,
    ]
    return tickets.annotate(
        inbox_kind=Case(
            When(status=TicketStatus.AWAITING_APPROVAL, then=Value(Kind.APPROVAL.value)),
            When(
                OPEN
                & Q(
                    status=TicketStatus.MANUAL_REVIEW,
                    outcome=TicketOutcome.UNKNOWN,
                    auto_remediation_executed=True,
                ),
                then=Value(Kind.UNKNOWN_OUTCOME.value),
            ),
            When(OPEN & Q(status__in=review_statuses), then=Value(Kind.REVIEW.value)),
            When(
                OPEN
                & Q(status=TicketStatus.ANALYZED, outcome=TicketOutcome.UNKNOWN)
                & DECIDED_WHILE_PAUSED,
                then=Value(Kind.PAUSED.value),
            ),
            When(
                OPEN & Q(status=TicketStatus.ANALYZED, outcome=TicketOutcome.UNKNOWN),
                then=Value(Kind.UNHANDLED.value),
            ),
            When(
                OPEN & Q(status=TicketStatus.RESOLVED, needs_review=True),
                then=Value(Kind.DISAGREEMENT.value),
            ),
            default=Value(None),
            output_field=CharField(),
        )
    )


def _owned_q(team: Team) -> Q:
    q = Q(category__in=list(team.categories or []))
    if team.systems:
        q |= Q(affected_system__in=list(team.systems))
    return q


@dataclass(frozen=True)
class Filters:
    kinds: Sequence[str] = ()
    category: str = ""
    owner: str = ""  # "me" (my teams' and taken by me), a team's name, or "nobody"
    risk: str = ""


def inbox(user: User | AnonymousUser, filters: Filters = Filters()) -> QuerySet[Ticket]:
    """The tickets ``user`` must act on, or may see in the queues, annotated ``inbox_kind``
    and ``mine`` (0: of one of ``user``'s teams or taken by them; 1: else), ordered mine
    first, then oldest first. Approvals are those of ``visible_requests`` (the approval
    pages' rule); the other kinds are for those who may work the review queue."""
    tickets = with_kind(Ticket.objects.all()).exclude(**{KIND: None})
    allowed = Q(pk__in=[])
    if may_use_approval_pages(user):
        allowed |= Q(
            inbox_kind=Kind.APPROVAL.value,
            approval_request__in=visible_requests(user).filter(status=ApprovalStatus.PENDING),
        )
    if may_review(user):
        allowed |= ~Q(inbox_kind=Kind.APPROVAL.value)
    tickets = tickets.filter(allowed)
    all_teams = teams()
    mine_teams = [t for t in all_teams if user.pk in {m.pk for m in t.members.all()}]
    mine_q = Q(review__assignee_id=user.pk) if user.is_authenticated else Q(pk__in=[])
    for team in mine_teams:
        mine_q |= _owned_q(team)
    tickets = tickets.annotate(
        mine=Case(When(mine_q, then=Value(0)), default=Value(1), output_field=IntegerField()),
        since=Coalesce(F("approval_request__opened_at"), F("created_at")),
    )
    if filters.kinds:
        tickets = tickets.filter(inbox_kind__in=list(filters.kinds))
    if filters.category:
        tickets = tickets.filter(category=filters.category)
    if filters.risk:
        tickets = tickets.filter(remediation_decision__risk_level=filters.risk)
    if filters.owner == "me":
        tickets = tickets.filter(mine=0)
    elif filters.owner == "nobody":
        owned = Q(review__assignee__isnull=False)
        for team in all_teams:
            owned |= _owned_q(team)
        tickets = tickets.exclude(owned)
    elif filters.owner:
        named = next((t for t in all_teams if t.name == filters.owner), None)
        tickets = tickets.filter(_owned_q(named)) if named is not None else tickets.none()
    return tickets.select_related(
        "approval_request", "review__assignee", "submitted_by", "pattern"
    ).order_by("mine", "since", "id")


@dataclass
class Item:
    """One line of the inbox, as the page and the API show it."""

    ticket: Ticket
    kind: str
    kind_label: str
    why: str
    owner: str
    owner_kind: str  # "person", "team", "approvers" or "nobody"
    age_seconds: int
    age: str
    action: str
    action_url: str
    mine: bool
    paused: dict[str, Any] | None
    minutes_left: int | None = None
    approvals_given: int | None = None
    approvals_required: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _why(ticket: Ticket, kind: str, pause: RemediationPause | None) -> str:
    reason = ticket.status_reason or ""
    if kind == Kind.APPROVAL:
        decision = ticket.remediation_decision or {}
        asked = next(
            (
                str(s).removeprefix("Approval required: ")
                for s in decision.get("reasoning") or []
                if str(s).startswith("Approval required")
            ),
            reason,
        )
        if pause is not None:
            return f"Held while paused (approvals are kept, nothing expires): {asked}"
        return asked or "A person must approve."
    if kind == Kind.UNKNOWN_OUTCOME:
        return f"The outcome of what ran is unknown: {reason}"
    if kind == Kind.UNHANDLED:
        facts = ticket.decision_facts if isinstance(ticket.decision_facts, dict) else {}
        return why_unhandled(facts.get("outcome"), reason)
    if kind == Kind.PAUSED:
        return f"{reason} It is decided again when remediation resumes."
    if kind == Kind.DISAGREEMENT:
        return "Trusted feedback disagreed with the recorded outcome."
    return reason or ticket.get_status_display()


def _owner(ticket: Ticket, kind: str, owners: list[Team]) -> tuple[str, str]:
    review = getattr(ticket, "review", None)
    if review is not None and review.assignee is not None:
        return review.assignee.get_username(), "person"
    if owners:
        return ", ".join(t.name for t in owners), "team"
    if kind == Kind.APPROVAL:
        request = getattr(ticket, "approval_request", None)
        if request is not None and request.policy_name:
            return f"approvers of {request.policy_name}", "approvers"
        return "Approvers", "approvers"
    return "nobody", "nobody"


def items(
    tickets: Iterable[Ticket],
    *,
    now: datetime | None = None,
    pauses: list[RemediationPause] | None = None,
) -> list[Item]:
    """The lines of a page of ``inbox``: two queries for all of it (pauses, teams) besides
    the approvals' counts of a page of approvals."""
    now = now or timezone.now()
    pauses = pauses_in_force() if pauses is None else pauses
    all_teams = teams()
    out = []
    for ticket in tickets:
        kind = str(getattr(ticket, "inbox_kind", "") or "")
        info = KINDS[Kind(kind)]
        pause = pause_for(ticket.category, pauses)
        owners = [
            t
            for t in all_teams
            if ticket.category in (t.categories or [])
            or (ticket.affected_system and ticket.affected_system in (t.systems or []))
        ]
        owner, owner_kind = _owner(ticket, kind, owners)
        since = getattr(ticket, "since", None) or ticket.created_at
        age = (now - since).total_seconds()
        if kind == Kind.APPROVAL:
            url = reverse("approvals:detail", args=[ticket.ticket_id])
        else:
            url = reverse("reviews:detail", args=[ticket.ticket_id])
        item = Item(
            ticket=ticket,
            kind=kind,
            kind_label=info.label,
            why=_why(ticket, kind, pause),
            owner=owner,
            owner_kind=owner_kind,
            age_seconds=int(age),
            age=age_text(age),
            action=info.action,
            action_url=url,
            mine=getattr(ticket, "mine", 1) == 0,
            paused=pause_dict(pause),
        )
        request = getattr(ticket, "approval_request", None) if kind == Kind.APPROVAL else None
        if request is not None:
            left = (request.expires_at - now).total_seconds()
            item.minutes_left = None if pause is not None else minutes_left(left)
            item.approvals_given = len(counting_approvers(request, ticket, current_digest(ticket)))
            item.approvals_required = request.required_approvals
        out.append(item)
    return out


def counts(user: User | AnonymousUser) -> dict[str, int]:
    """How many items of each kind ``user`` has (for the filters)."""
    rows = inbox(user).order_by().values(KIND).annotate(n=Count("id"))
    return {str(row[KIND]): int(row["n"]) for row in rows}


def kind_of(ticket: Ticket) -> str | None:
    """The inbox kind of one ticket now (None: nobody must act on it)."""
    row = with_kind(Ticket.objects.filter(pk=ticket.pk)).values_list(KIND, flat=True)
    found = next(iter(row), None)
    return str(found) if found is not None else None
