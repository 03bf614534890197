"""Storm control: when a new incident joins an existing ticket instead of opening one.
Pure: no Django.

An incident is identified by its pattern signature, its target (the affected system) and
who submits it: one integration's tickets never absorb another's, so no token can open a
ticket that swallows everyone else's reports of the same incident. While the newest ticket
for that key is open, every repeat joins it, for at most ``max_open`` after it was opened
(then a repeat starts a new ticket). When it is closed, a new ticket may start, but at most
``limit`` tickets per key per ``window``: past that, a flapping alert joins the newest ticket
instead of starting analysis (and possibly a remediation) again and again.

A repeat joins only when it asks for no more than the ticket has: a more severe one, or one
that opts in to auto-remediation when the ticket did not, is a new ticket, processed as such.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Verdict(StrEnum):
    CREATE = "create"
    JOIN_OPEN = "open"  # the newest ticket for the key is still open
    JOIN_LIMIT = "limit"  # the per-window ticket limit for the key is reached


@dataclass(frozen=True)
class StormState:
    """What is known of a key: its newest ticket and the current window."""

    has_ticket: bool
    ticket_open: bool
    window_started_at: datetime | None
    window_tickets: int
    ticket_opened_at: datetime | None = None
    # The submission asks for more than the ticket has (severity, opt-in): never absorbed.
    submission_stronger: bool = False


@dataclass(frozen=True)
class StormOutcome:
    verdict: Verdict
    window_started_at: datetime | None
    window_tickets: int


def normalize_target(target: str) -> str:
    return unicodedata.normalize("NFKC", target).strip().lower()


SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def storm_key(pattern_hash: str, target: str, submitter: int | str) -> str:
    """The incident's key: pattern, target and the submitting identity."""
    text = f"{pattern_hash}|{normalize_target(target)}|{submitter}"
    return hashlib.sha256(text.encode()).hexdigest()


def asks_for_more(
    *, severity: str, auto_remediation: bool, ticket_severity: str, ticket_auto_remediation: bool
) -> bool:
    """Does a submission ask for more than the ticket it would join has?"""
    rank = SEVERITY_RANK.get(severity, 1) > SEVERITY_RANK.get(ticket_severity, 1)
    return rank or (auto_remediation and not ticket_auto_remediation)


def storm_verdict(
    state: StormState,
    *,
    now: datetime,
    window: timedelta,
    limit: int,
    max_open: timedelta | None = None,
) -> StormOutcome:
    absorbs = state.has_ticket and not state.submission_stronger
    opened = state.ticket_opened_at
    fresh = max_open is None or opened is None or now - opened < max_open
    if absorbs and state.ticket_open and fresh:
        return StormOutcome(Verdict.JOIN_OPEN, state.window_started_at, state.window_tickets)
    in_window = state.window_started_at is not None and now - state.window_started_at < window
    # The limit holds back a flapping incident whose ticket closed; an open ticket past its
    # time is replaced, not joined.
    if in_window and absorbs and not state.ticket_open and state.window_tickets >= limit:
        return StormOutcome(Verdict.JOIN_LIMIT, state.window_started_at, state.window_tickets)
    if in_window:
        return StormOutcome(Verdict.CREATE, state.window_started_at, state.window_tickets + 1)
    return StormOutcome(Verdict.CREATE, now, 1)
