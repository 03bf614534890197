"""Policy what-if, pure: replay stored decisions through ``decision.decide`` with another
policy and count what would have changed (no Django, no I/O, never executes anything).

A decision's inputs are stored on the ticket when it is decided (``record_facts``): the
validated actions, the global settings, the pattern's standing and the safety checks as
they were. The ticket itself keeps the confidence, reliability and resolution. Replaying
with a changed policy re-derives what depends on the policy:

- the time window is re-checked for the new hours/days/zone at the decision's instant;
- a backup that the new policy requires but nobody asked about at the time is unknown,
  which fails closed, as the live check would;
- the rate limit and system health keep their recorded verdicts (they depend on what else
  was running then, which a replay of one category cannot reconstruct).

Tickets decided before the facts were stored fall back to the decision stored with them
(its safety booleans), the settings and pattern as they stand now; ``StoredDecision``
says which tickets did (``facts_stored``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from policies.rules import GlobalSettings, PolicyRules
from policies.rules.timewindow import TimeWindow, is_open
from remediation.catalogue.rules.operations import SuggestedAction
from remediation.catalogue.rules.policy import backup_needed
from remediation.decisions.rules.decision import (
    DecisionInput,
    Outcome,
    PatternFacts,
    SafetyFacts,
    decide,
)

FACTS_VERSION = 1

# Ticket statuses and outcome meaning "ran and did not work" (remediation.models names them;
# repeated here because this module imports no Django).
FAILED_STATUSES = frozenset({"partially_remediated", "failed"})
FAILED_OUTCOME = "failure"


def record_facts(inp: DecisionInput, outcome: Outcome, *, backup_asked: bool) -> dict[str, Any]:
    """What ``ticket_decide`` stores in ``Ticket.decision_facts``: JSON, replayable."""
    safety = inp.safety
    pattern = inp.pattern
    return {
        "version": FACTS_VERSION,
        "decided_at": inp.now.isoformat(),
        "outcome": outcome.value,
        "settings": {
            "enabled": inp.settings.enabled,
            "min_reliability": inp.settings.min_reliability,
            "require_approval": inp.settings.require_approval,
            "max_actions_per_hour": inp.settings.max_actions_per_hour,
        },
        "actions": [a.to_dict() for a in inp.actions],
        "dropped": list(inp.dropped),
        "held": list(inp.held),
        "paused": inp.paused,
        "pattern": None
        if pattern is None
        else {
            "hash": pattern.hash,
            "eligible": pattern.eligible,
            "similar_resolved": pattern.similar_resolved,
            "positive_outcome_rate": pattern.positive_outcome_rate,
        },
        "safety": None
        if safety is None
        else {
            "time_window_ok": safety.time_window_ok,
            "rate_limit_ok": safety.rate_limit_ok,
            "backup_available": safety.backup_available,
            "system_healthy": safety.system_healthy,
            "failures": list(safety.failures),
        },
        "backup_asked": backup_asked,
    }


@dataclass(frozen=True)
class StoredDecision:
    """One decided ticket, as the replay needs it."""

    ticket_id: str
    inp: DecisionInput  # policy left None: the replay supplies it
    outcome: Outcome  # what was decided then
    backup_asked: bool  # whether a backup was asked about then
    status: str  # the ticket's status now
    ticket_outcome: str  # success / failure / unknown
    facts_stored: bool  # False: an older ticket, replayed from the fallbacks


def stored_outcome(decision: Mapping[str, Any], mode: str, enabled: bool) -> Outcome:
    """The outcome of a decision stored before ``decision_facts`` existed."""
    reasoning = decision.get("reasoning") or []
    if mode == "shadow":
        return Outcome.SHADOW
    if not enabled or (reasoning and "switched off globally" in str(reasoning[0])):
        return Outcome.NOT_ENABLED
    if not decision.get("allowed"):
        return Outcome.REJECTED
    if decision.get("requires_approval"):
        return Outcome.AWAITING_APPROVAL
    return Outcome.AUTO_APPROVED


def settings_from(data: Mapping[str, Any] | None, fallback: GlobalSettings) -> GlobalSettings:
    if not data:
        return fallback
    return GlobalSettings(
        enabled=bool(data.get("enabled", fallback.enabled)),
        min_reliability=float(data.get("min_reliability", fallback.min_reliability)),
        require_approval=bool(data.get("require_approval", fallback.require_approval)),
        max_actions_per_hour=int(data.get("max_actions_per_hour", fallback.max_actions_per_hour)),
    )


def pattern_from(data: Mapping[str, Any] | None) -> PatternFacts | None:
    if not data:
        return None
    return PatternFacts(
        hash=str(data["hash"]),
        eligible=bool(data["eligible"]),
        similar_resolved=int(data["similar_resolved"]),
        # Decisions recorded before the rate was of outcomes stored the rating rate.
        positive_outcome_rate=float(
            data.get("positive_outcome_rate", data.get("positive_feedback_rate", 0.0))
        ),
    )


def safety_from(data: Mapping[str, Any] | None) -> SafetyFacts | None:
    """Safety facts from ``record_facts`` or from an older decision's ``safety_checks``."""
    if not data:
        return None
    return SafetyFacts(
        time_window_ok=bool(data.get("time_window_ok")),
        rate_limit_ok=bool(data.get("rate_limit_ok")),
        backup_available=bool(data.get("backup_available")),
        system_healthy=bool(data.get("system_healthy")),
        failures=tuple(str(f) for f in data.get("failures", ())),
    )


def actions_from(data: Iterable[Mapping[str, Any]]) -> tuple[SuggestedAction, ...]:
    return tuple(SuggestedAction.from_dict(a) for a in data)


def _safety_under(stored: StoredDecision, policy: PolicyRules | None) -> SafetyFacts | None:
    """The stored safety checks, re-derived where ``policy`` changes them."""
    safety = stored.inp.safety
    if safety is None:
        return None
    window_ok = True
    if policy is not None:
        window = TimeWindow(
            start_hour=policy.allowed_hours_start,
            end_hour=policy.allowed_hours_end,
            days=policy.allowed_days,
            timezone=policy.timezone,
        )
        window_ok = is_open(window, stored.inp.now)
    if not any(backup_needed(a, policy) for a in stored.inp.actions):
        backup_ok = True
    elif stored.backup_asked:
        backup_ok = safety.backup_available
    else:
        backup_ok = False  # required now, never asked then: unknown fails closed
    failures = [
        reason
        for ok, reason in (
            (window_ok, "outside the allowed time window"),
            (safety.rate_limit_ok, "rate limit (as recorded)"),
            (backup_ok, "no backup known"),
            (safety.system_healthy, "system not healthy (as recorded)"),
        )
        if not ok
    ]
    return SafetyFacts(
        time_window_ok=window_ok,
        rate_limit_ok=safety.rate_limit_ok,
        backup_available=backup_ok,
        system_healthy=safety.system_healthy,
        failures=tuple(failures),
    )


def replay(stored: StoredDecision, policy: PolicyRules | None) -> Outcome:
    """What the engine decides for ``stored`` under ``policy``."""
    inp = replace(stored.inp, policy=policy, safety=_safety_under(stored, policy))
    return decide(inp).outcome


def _failed(stored: StoredDecision) -> bool:
    return stored.status in FAILED_STATUSES or stored.ticket_outcome == FAILED_OUTCOME


@dataclass
class WhatIfReport:
    decisions: int = 0
    from_fallbacks: int = 0  # older tickets without stored facts
    reproduced: int = 0  # replayed with the unchanged policy, same outcome as stored
    changed: int = 0  # outcome differs from the stored one
    run_alone: int = 0  # would have run without a person
    newly_run_alone: int = 0  # ... of which did not run alone then
    newly_run_alone_failed: int = 0  # ... and failed or were rolled back
    approvals_saved: int = 0  # waited for a person then, would not now
    approvals_added: int = 0  # ran alone then, would wait now
    newly_blocked: int = 0  # rejected now, not then
    unblocked: int = 0  # rejected then, not now
    before: dict[str, int] = field(default_factory=dict)  # outcome -> tickets, as stored
    after: dict[str, int] = field(default_factory=dict)  # outcome -> tickets, replayed
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # (ticket, then, now)

    MAX_EXAMPLES = 20

    def lines(self) -> list[str]:
        return [
            f"Decisions replayed: {self.decisions} "
            f"({self.from_fallbacks} older ones from fallbacks, see docs)",
            f"With the policy unchanged, the replay reproduces {self.reproduced} of "
            f"{self.decisions}",
            f"Not opted in or switched off (no policy change can move them): "
            f"{self.before.get(Outcome.NOT_ENABLED.value, 0)}",
            f"Decisions that would change: {self.changed}",
            f"Would have run without a person: {self.run_alone} "
            f"({self.newly_run_alone} that did not before)",
            f"  of those new ones, failed or rolled back: {self.newly_run_alone_failed}",
            f"Approvals saved: {self.approvals_saved} (approvals added: {self.approvals_added})",
            f"Newly blocked: {self.newly_blocked} (no longer blocked: {self.unblocked})",
        ]


def compare(
    stored: Iterable[StoredDecision],
    changed: PolicyRules | None,
    current: PolicyRules | None,
) -> WhatIfReport:
    """Replay each decision under ``changed``; ``current`` (the policy as it stands) gives
    the reproduction check, which tells drift since the decisions from the change itself."""
    report = WhatIfReport()
    auto, waits, refused = Outcome.AUTO_APPROVED, Outcome.AWAITING_APPROVAL, Outcome.REJECTED
    for s in stored:
        report.decisions += 1
        report.from_fallbacks += not s.facts_stored
        then = s.outcome
        now = replay(s, changed)
        report.reproduced += replay(s, current) == then
        report.before[then.value] = report.before.get(then.value, 0) + 1
        report.after[now.value] = report.after.get(now.value, 0) + 1
        if now == then:
            continue
        report.changed += 1
        if len(report.examples) < WhatIfReport.MAX_EXAMPLES:
            report.examples.append((s.ticket_id, then.value, now.value))
        if now == auto:
            report.newly_run_alone += 1
            report.newly_run_alone_failed += _failed(s)
            report.approvals_saved += then == waits
        if then == auto and now == waits:
            report.approvals_added += 1
        if now == refused:
            report.newly_blocked += 1
        if then == refused:
            report.unblocked += 1
    report.run_alone = report.after.get(auto.value, 0)
    return report


def now_of(
    facts: Mapping[str, Any] | None, decision: Mapping[str, Any], fallback: datetime
) -> datetime:
    """The decision's instant: stored with the facts, else in the stored decision."""
    for source in (facts or {}, decision):
        value = source.get("decided_at")
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                continue
    return fallback


__all__ = [
    "FACTS_VERSION",
    "StoredDecision",
    "WhatIfReport",
    "actions_from",
    "compare",
    "now_of",
    "pattern_from",
    "record_facts",
    "replay",
    "safety_from",
    "settings_from",
    "stored_outcome",
]
