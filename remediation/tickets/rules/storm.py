"""Storm control: when a new incident joins an existing ticket instead of opening one.
Pure: no Django.

An incident is identified by its pattern signature and its target (the affected system).
While the newest ticket for that key is open, every repeat joins it. When it is closed, a
new ticket may start, but at most ``limit`` tickets per key per ``window``: past that, a
flapping alert joins the newest ticket instead of starting analysis (and possibly a
remediation) again and again.
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


@dataclass(frozen=True)
class StormOutcome:
    verdict: Verdict
    window_started_at: datetime | None
    window_tickets: int


def normalize_target(target: str) -> str:
    return unicodedata.normalize("NFKC", target).strip().lower()


def storm_key(pattern_hash: str, target: str) -> str:
    return hashlib.sha256(f"{pattern_hash}|{normalize_target(target)}".encode()).hexdigest()


def storm_verdict(
    state: StormState, *, now: datetime, window: timedelta, limit: int
) -> StormOutcome:
    if state.has_ticket and state.ticket_open:
        return StormOutcome(Verdict.JOIN_OPEN, state.window_started_at, state.window_tickets)
    in_window = state.window_started_at is not None and now - state.window_started_at < window
    if in_window and state.has_ticket and state.window_tickets >= limit:
        return StormOutcome(Verdict.JOIN_LIMIT, state.window_started_at, state.window_tickets)
    if in_window:
        return StormOutcome(Verdict.CREATE, state.window_started_at, state.window_tickets + 1)
    return StormOutcome(Verdict.CREATE, now, 1)
