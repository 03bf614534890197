"""What a person must act on, pure: every ticket state, and whether it is in the inbox (of
which kind, why, and the one action to take) or explicitly done (and why nobody must act).

``DONE`` and ``KINDS`` together name every state of the lifecycle's table
(``remediation.tickets.rules.lifecycle.ALLOWED``) and every decision outcome, so nothing a
person must act on can be on no page: ``tests/feedback/inbox/test_every_state.py`` walks
them all against the inbox's query.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Statuses and outcomes as the lifecycle names them (its pure table).
from remediation.tickets.rules.lifecycle import (
    ANALYZED,
    AWAITING_APPROVAL,
    FAILED,
    FAILURE,
    MANUAL_REVIEW,
    PARTIALLY_REMEDIATED,
    PROCESSING,
    REMEDIATING,
    RESOLVED,
    SUCCESS,
    UNKNOWN,
)


class Kind(StrEnum):
    APPROVAL = "approval"  # awaiting_approval: people approve or reject
    REVIEW = "review"  # manual_review (rejected, refused, expired, failed analysis), failed...
    UNKNOWN_OUTCOME = "unknown_outcome"  # something ran and nobody knows how it ended
    UNHANDLED = "unhandled"  # analyzed, and nobody will act: not opted in, off, shadow mode
    PAUSED = "paused"  # decided while remediation was paused: decided again on resume
    DISAGREEMENT = "disagreement"  # resolved, but trusted feedback disagreed with it


# The review queue's kinds (``/reviews/``, ``GET /api/v1/reviews``): what it always listed.
REVIEW_KINDS = (Kind.REVIEW, Kind.UNKNOWN_OUTCOME)
# Kinds a person handles on the review page (take, record a hand fix, close).
REVIEW_PAGE_KINDS = (
    Kind.REVIEW,
    Kind.UNKNOWN_OUTCOME,
    Kind.UNHANDLED,
    Kind.PAUSED,
    Kind.DISAGREEMENT,
)


@dataclass(frozen=True)
class KindInfo:
    label: str
    action: str  # the one thing to do, on the page the item links to


KINDS: dict[Kind, KindInfo] = {
    Kind.APPROVAL: KindInfo("Waiting for approval", "Approve or reject"),
    Kind.REVIEW: KindInfo("Review", "Review: run, fix by hand or close"),
    Kind.UNKNOWN_OUTCOME: KindInfo("Unknown outcome", "Reconcile: say what happened"),
    Kind.UNHANDLED: KindInfo("Nobody will handle it", "Act on the resolution, then record it"),
    Kind.PAUSED: KindInfo(
        "Decided while paused", "Wait for the resume, or handle it by hand and record it"
    ),
    Kind.DISAGREEMENT: KindInfo("Feedback disagrees", "Look again and record the verdict"),
}


# Why nobody must act on a ticket that is not in the inbox, by status (and outcome).
DONE: dict[tuple[str, str], str] = {
    (PROCESSING, UNKNOWN): "the system is analyzing it (a failed analysis goes to manual review)",
    (REMEDIATING, UNKNOWN): "the system is executing it (a stuck execution is swept to manual "
    "review with an unknown outcome)",
    (RESOLVED, SUCCESS): "resolved: measured by its post-checks or confirmed by a person",
    (ANALYZED, FAILURE): "a trusted person already said the suggestion failed (they handle it)",
    # Every other state is in the inbox until a person closes its review:
    ("*", "closed"): "a person closed its review, with a reason",
}


@dataclass(frozen=True)
class TicketFacts:
    status: str
    outcome: str
    executed: bool
    decision_outcome: str | None  # the stored decision's outcome, None when not decided
    decided_while_paused: bool
    review_closed: bool
    needs_review: bool


def classify(t: TicketFacts) -> Kind | str:
    """The inbox kind of a ticket in this state, or why nobody must act (a ``DONE`` reason).
    The inbox's query (``feedback.inbox.selectors.with_kind``) is the same table in SQL."""
    if t.status == AWAITING_APPROVAL:
        return Kind.APPROVAL
    if t.review_closed:
        return DONE[("*", "closed")]
    if t.status == MANUAL_REVIEW and t.outcome == UNKNOWN and t.executed:
        return Kind.UNKNOWN_OUTCOME
    if t.status in (MANUAL_REVIEW, FAILED, PARTIALLY_REMEDIATED):
        return Kind.REVIEW
    if t.status == ANALYZED and t.outcome == UNKNOWN:
        return Kind.PAUSED if t.decided_while_paused else Kind.UNHANDLED
    if t.status == RESOLVED and t.needs_review:
        return Kind.DISAGREEMENT
    return DONE[(t.status, t.outcome)]


def why_unhandled(decision_outcome: str | None, reason: str) -> str:
    """Why nobody will act on an analyzed ticket, in a sentence."""
    if decision_outcome == "shadow":
        return f"Shadow mode: decided for the record only, nothing runs. {reason}".strip()
    return reason or "The system will not act on it: a person acts on the resolution."


def minutes_left(seconds: float) -> int:
    return max(0, int(seconds // 60))


def age_text(seconds: float) -> str:
    """An age in words: "5 min", "3 h", "2 d"."""
    seconds = max(0.0, seconds)
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"
