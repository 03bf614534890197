"""The ticket state machine (docs/lifecycle.md), as pure rules: no Django.

One place says which (status, outcome, auto_remediation_executed) combinations may exist
and which status may follow which. ``remediation.tickets.transitions.ticket_transition`` applies
these rules to every status write, ``Ticket.save`` refuses a combination outside
``ALLOWED``, and ``remediation.models`` turns ``ALLOWED`` into database check constraints,
so no code path (admin, shell, a bug) can store ``resolved`` with ``failure``.

Why each row (statuses and outcomes are the strings of ``TicketStatus``/``TicketOutcome``):

* ``processing``, ``awaiting_approval``: nothing ran and nobody judged yet -> unknown.
* ``analyzed``: handed to people, nothing ran. A trusted person may say the suggestion
  failed (failure); a confirmed fix moves the ticket to ``resolved`` instead.
* ``remediating``: actions are running; executed turns true when the first one starts.
* ``resolved``: success, by a measured execution (executed) or confirmed by a person.
* ``partially_remediated``: an action or check failed after something ran -> failure.
* ``failed``: nothing could be executed, or rollback itself failed -> failure.
* ``manual_review``: rejected/expired/analysis failed (nothing ran, unknown); a timed-out
  call or a dead worker (executed, unknown until a person reconciles); or a person said
  the suggestion failed (failure).
"""

from __future__ import annotations

from dataclasses import dataclass

PROCESSING = "processing"
ANALYZED = "analyzed"
AWAITING_APPROVAL = "awaiting_approval"
REMEDIATING = "remediating"
RESOLVED = "resolved"
PARTIALLY_REMEDIATED = "partially_remediated"
FAILED = "failed"
MANUAL_REVIEW = "manual_review"

UNKNOWN = "unknown"
SUCCESS = "success"
FAILURE = "failure"

STATUSES = (
    PROCESSING,
    ANALYZED,
    AWAITING_APPROVAL,
    REMEDIATING,
    RESOLVED,
    PARTIALLY_REMEDIATED,
    FAILED,
    MANUAL_REVIEW,
)
OUTCOMES = (UNKNOWN, SUCCESS, FAILURE)

# status -> the (outcome, executed) pairs it may hold.
ALLOWED: dict[str, frozenset[tuple[str, bool]]] = {
    PROCESSING: frozenset({(UNKNOWN, False)}),
    ANALYZED: frozenset({(UNKNOWN, False), (FAILURE, False)}),
    AWAITING_APPROVAL: frozenset({(UNKNOWN, False)}),
    REMEDIATING: frozenset({(UNKNOWN, False), (UNKNOWN, True)}),
    RESOLVED: frozenset({(SUCCESS, False), (SUCCESS, True)}),
    PARTIALLY_REMEDIATED: frozenset({(FAILURE, True)}),
    FAILED: frozenset({(FAILURE, False), (FAILURE, True)}),
    MANUAL_REVIEW: frozenset(
        {(UNKNOWN, False), (UNKNOWN, True), (FAILURE, False), (FAILURE, True)}
    ),
}

# status -> the statuses it may move to. Staying in the same status (to change the outcome
# or executed flag within what ALLOWED permits) is always a legal step.
TRANSITIONS: dict[str, frozenset[str]] = {
    # The analysis stores its result (analyzed) and decides in the same transaction.
    PROCESSING: frozenset({ANALYZED, MANUAL_REVIEW, AWAITING_APPROVAL, REMEDIATING}),
    ANALYZED: frozenset({AWAITING_APPROVAL, REMEDIATING, MANUAL_REVIEW, RESOLVED}),
    # Approved, or rejected / expired.
    AWAITING_APPROVAL: frozenset({REMEDIATING, MANUAL_REVIEW}),
    REMEDIATING: frozenset({RESOLVED, PARTIALLY_REMEDIATED, FAILED, MANUAL_REVIEW}),
    # A person confirms the fix (trusted feedback) or reconciles an unknown execution; or a
    # reviewer runs the proposal under a person's decision (nothing ran yet: a new request).
    MANUAL_REVIEW: frozenset({RESOLVED, FAILED, AWAITING_APPROVAL}),
    # A measured fix that did not hold (it came back within the hold time): see DID_NOT_HOLD.
    RESOLVED: frozenset({FAILED}),
    PARTIALLY_REMEDIATED: frozenset(),
    FAILED: frozenset(),
}

# Where the system is done with a ticket: feedback is accepted (docs/learning.md).
FEEDBACK_OPEN = frozenset({ANALYZED, MANUAL_REVIEW, RESOLVED, PARTIALLY_REMEDIATED, FAILED})
# Where a person's (trusted) verdict decides the outcome: nothing measured it.
PERSON_DECIDES = frozenset({ANALYZED, MANUAL_REVIEW})
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


@dataclass(frozen=True)
class State:
    status: str
    outcome: str = UNKNOWN
    executed: bool = False


# The one step that changes a concluded outcome: a success measured by an execution's
# post-checks that did not hold (the alert fired again, or the cause was seen again, within
# the hold time) becomes a failure. A measured outcome outweighs everything else, including
# its own earlier measurement taken too soon. A success a person confirmed never moves.
DID_NOT_HOLD = (State(RESOLVED, SUCCESS, True), State(FAILED, FAILURE, True))


class IllegalTransition(ValueError):
    """The requested state, or the step to it, is not allowed (docs/lifecycle.md)."""


def is_allowed(state: State) -> bool:
    return (state.outcome, state.executed) in ALLOWED.get(state.status, frozenset())


def can_move(old: str, new: str) -> bool:
    return old == new or new in TRANSITIONS.get(old, frozenset())


def check_state(state: State) -> None:
    if state.status not in ALLOWED:
        raise IllegalTransition(f"unknown status {state.status!r}")
    if not is_allowed(state):
        raise IllegalTransition(
            f"status {state.status} cannot have outcome {state.outcome} with "
            f"executed={state.executed}"
        )


def check_transition(old: State, new: State) -> None:
    """Raise ``IllegalTransition`` unless ``old`` may become ``new``.

    Besides the status graph: executed never turns back to false (actions that ran stay
    run), and a concluded outcome never changes (a confirmed result is final; disagreement
    is flagged for review instead), except ``DID_NOT_HOLD``: a measured fix that came back.
    """
    check_state(new)
    if not can_move(old.status, new.status):
        raise IllegalTransition(f"a ticket cannot go from {old.status} to {new.status}")
    if old.executed and not new.executed:
        raise IllegalTransition("executed actions cannot become unexecuted")
    if (old, new) == DID_NOT_HOLD:
        return
    if old.status == RESOLVED and new.status != RESOLVED:
        raise IllegalTransition("only a measured fix that did not hold leaves resolved")
    if old.outcome != UNKNOWN and new.outcome != old.outcome:
        raise IllegalTransition(f"a concluded outcome ({old.outcome}) is final")


def allowed_combinations() -> list[tuple[str, str, bool]]:
    """Every legal (status, outcome, executed), for the database check constraint."""
    return sorted((s, o, e) for s, pairs in ALLOWED.items() for o, e in pairs)
