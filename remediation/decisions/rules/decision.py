"""The design's eight-step decision, pure: facts in, a Decision out (no Django, no I/O).

1. auto-remediation enabled (the environment's kill switch, the live pause of the
   category, then the ticket's opt-in)?
2. the category's policy (none: a person must approve)
3. classify risk: the highest action type; refuse what the policy does not allow
4. confidence and reliability thresholds (the policy's; the global floor for running alone)
5. safety checks (gathered by ``remediation.decisions.safety``; unknown counts as failed)
6. pattern eligibility (unknown or ineligible pattern, or an operation people rejected
   for it: a person must approve)
7. approval requirement (critical always; no threshold never auto; rollout share)
8. execute, or await approval (shadow mode: report what would have happened)

Each step that runs adds exactly one sentence to ``reasoning``; a refusing step ends the
decision. In shadow mode a closing sentence says what would have happened.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from policies.rules import MODE_ENFORCE, MODE_SHADOW, GlobalSettings, PolicyRules
from remediation.catalogue.rules.operations import RISK_LEVEL, ActionType, SuggestedAction
from remediation.catalogue.rules.policy import (
    no_policy_refusals,
    number_text,
    percent_text,
    policy_refusals,
    threshold_refusals,
)

# Lowest to highest risk; the ticket's action type is the highest among its actions.
RISK_ORDER: tuple[str, ...] = (
    ActionType.READ_ONLY,
    ActionType.SAFE_WRITE,
    ActionType.CRITICAL_WRITE,
)
ROLLOUT_BUCKETS = 100


class Outcome(StrEnum):
    """Where the ticket goes next."""

    NOT_ENABLED = "not_enabled"  # analyzed: a person acts on the resolution
    AWAITING_APPROVAL = "awaiting_approval"
    AUTO_APPROVED = "auto_approved"  # remediating
    REJECTED = "rejected"  # manual_review
    SHADOW = "shadow"  # analyzed: decided for the record, never executed


@dataclass(frozen=True)
class SafetyFacts:
    """What ``remediation.decisions.safety`` found. A check that could not be answered is False."""

    time_window_ok: bool
    rate_limit_ok: bool
    backup_available: bool
    system_healthy: bool
    failures: tuple[str, ...] = ()  # one reason per failed check, for the reasoning

    @property
    def all_passed(self) -> bool:
        return (
            self.time_window_ok
            and self.rate_limit_ok
            and self.backup_available
            and self.system_healthy
        )

    def to_dict(self) -> dict[str, bool]:
        return {
            "time_window_ok": self.time_window_ok,
            "rate_limit_ok": self.rate_limit_ok,
            "backup_available": self.backup_available,
            "system_healthy": self.system_healthy,
            "all_passed": self.all_passed,
        }


NOT_CHECKED = SafetyFacts(False, False, False, False, ("safety checks were not run",))


@dataclass(frozen=True)
class PatternFacts:
    hash: str
    eligible: bool  # the pattern's own eligibility (and not switched off)
    similar_resolved: int  # similar tickets that concluded successfully
    # Of its concluded tickets, the share that succeeded (measured, else a trusted verdict:
    # ``Pattern.positive_outcome_rate``), 0..1; held against the policy's
    # ``min_positive_feedback_rate``.
    positive_outcome_rate: float


@dataclass(frozen=True)
class DecisionInput:
    ticket_id: str
    category: str
    auto_remediation_enabled: bool
    actions: tuple[SuggestedAction, ...]
    now: datetime
    settings: GlobalSettings
    policy: PolicyRules | None = None
    dropped: tuple[str, ...] = ()  # suggestions the catalogue refused, each named
    resolution: str = ""
    confidence: float = 0.0  # 0..1
    reliability: float | None = None  # 0..100, None when not scored
    # The calibrated probability (0..1) that the fix succeeds and holds, from the stored
    # calibration fit, and what gave it; None without a fit for the category or the estate.
    # Where it is given, the reliability thresholds are held against it (x 100).
    probability: float | None = None
    probability_basis: str = ""
    pattern: PatternFacts | None = None
    safety: SafetyFacts | None = None  # None: not gathered (fails closed at step 5)
    # The analysis's cause rests on what was observed, not on the ticket's words alone
    # (``analysis.rules.evidence``). Without it a person must approve, whatever the scores.
    observed: bool = False
    # Operations among the actions that people rejected for the pattern, still proposed
    # because fixes measured to hold outweigh the rejections: a person decides. One reason
    # each (``approvals.selectors.rejected_operations_for_pattern``).
    held: tuple[str, ...] = ()
    # The live kill switch (``policies.selectors.pause_in_force``): the sentence that says
    # who paused auto-remediation for this ticket's category, and why; "" when not paused.
    paused: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    action_type: str | None
    requires_approval: bool
    reasoning: tuple[str, ...]
    safety_checks: SafetyFacts
    risk_level: str | None
    policy: str | None
    decided_at: datetime
    mode: str
    outcome: Outcome
    rejection: str | None = None  # the refusing sentence, for status_reason
    # Both numbers and which one the thresholds used (``gate_reliability``, 0..100).
    reliability: dict[str, Any] = field(default_factory=dict)

    @property
    def gate_reliability(self) -> float | None:
        value = self.reliability.get("gate_value")
        return float(value) if isinstance(value, int | float) else None

    def to_dict(self) -> dict[str, Any]:
        """The API shape: exactly the design's keys plus policy and decided_at."""
        return {
            "allowed": self.allowed,
            "action_type": self.action_type,
            "requires_approval": self.requires_approval,
            "reasoning": list(self.reasoning),
            "safety_checks": self.safety_checks.to_dict(),
            "risk_level": self.risk_level,
            "policy": self.policy,
            "decided_at": self.decided_at.isoformat(),
            "reliability": dict(self.reliability),
        }


def observed_basis(diagnosis: Any) -> bool:
    """Whether a stored diagnosis says its cause was observed (``basis`` "observed")."""
    return isinstance(diagnosis, dict) and diagnosis.get("basis") == "observed"


def highest_action_type(actions: Iterable[SuggestedAction]) -> str | None:
    ranks = [RISK_ORDER.index(a.action_type) for a in actions]
    return str(RISK_ORDER[max(ranks)]) if ranks else None


def in_rollout(ticket_id: str, percentage: int) -> bool:
    """A stable share of tickets: sha256(ticket_id) mod 100 < percentage."""
    return rollout_bucket(ticket_id) < percentage


def rollout_bucket(ticket_id: str) -> int:
    return int(hashlib.sha256(ticket_id.encode()).hexdigest(), 16) % ROLLOUT_BUCKETS


_num = number_text
_pct = percent_text


@dataclass
class _Run:
    """The decision being built: one sentence per step."""

    inp: DecisionInput
    reasoning: list[str] = field(default_factory=list)
    needs_person: list[str] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return self.inp.policy.mode if self.inp.policy is not None else MODE_ENFORCE

    def say(self, sentence: str) -> None:
        self.reasoning.append(sentence)

    def finish(
        self,
        outcome: Outcome,
        *,
        allowed: bool,
        requires_approval: bool,
        rejection: str | None = None,
    ) -> Decision:
        inp = self.inp
        action_type = highest_action_type(inp.actions)
        mode = self.mode
        if mode == MODE_SHADOW and outcome is not Outcome.NOT_ENABLED:
            would = {
                Outcome.AUTO_APPROVED: "executed without approval",
                Outcome.AWAITING_APPROVAL: "waited for approval",
                Outcome.REJECTED: "rejected the remediation",
            }[outcome]
            self.say(
                f"Shadow mode: would have {would}; nothing runs and a person handles the ticket"
            )
            outcome = Outcome.SHADOW
        return Decision(
            allowed=allowed,
            action_type=action_type,
            requires_approval=requires_approval,
            reasoning=tuple(self.reasoning),
            safety_checks=inp.safety or NOT_CHECKED,
            risk_level=RISK_LEVEL[ActionType(action_type)] if action_type is not None else None,
            policy=inp.policy.name if inp.policy is not None else None,
            decided_at=inp.now,
            mode=mode,
            outcome=outcome,
            rejection=rejection,
        )

    def reject(self, sentence: str) -> Decision:
        self.say(sentence)
        return self.finish(
            Outcome.REJECTED, allowed=False, requires_approval=False, rejection=sentence
        )


def gate_value(inp: DecisionInput) -> tuple[float | None, str]:
    """The number the reliability thresholds are held against (0..100, None when neither
    number is there) and which one it is: the calibrated probability x 100 where the fit
    gave one, else the score."""
    p = inp.probability
    if p is not None and math.isfinite(p):
        return round(max(0.0, min(1.0, p)) * 100, 2), "calibrated_probability"
    if inp.reliability is not None and math.isfinite(inp.reliability):
        return inp.reliability, "score"
    return None, "score"


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def gate_record(inp: DecisionInput) -> dict[str, Any]:
    """Both numbers as the decision saw them, and which one its thresholds used."""
    value, used = gate_value(inp)
    score = (
        inp.reliability if inp.reliability is not None and math.isfinite(inp.reliability) else None
    )
    p = inp.probability if inp.probability is not None and math.isfinite(inp.probability) else None
    return {
        "score": score,
        "calibrated_probability": p,
        "calibration": inp.probability_basis,
        "used": used,
        "gate_value": value,
    }


def _gate_sentence(inp: DecisionInput) -> str:
    value, used = gate_value(inp)
    score = (
        _num(inp.reliability) + "%"
        if inp.reliability is not None and math.isfinite(inp.reliability)
        else "not scored"
    )
    if used == "calibrated_probability":
        return (
            f"Reliability score {score}, calibrated probability of success "
            f"{_num(value or 0.0)}% ({inp.probability_basis}); the thresholds use the "
            "calibrated probability"
        )
    return (
        f"Reliability score {score}, no calibrated probability yet (too few concluded "
        "tickets to fit); the thresholds use the score"
    )


def decide(inp: DecisionInput) -> Decision:
    """The eight steps. The thresholds see one number, the calibrated probability x 100
    where the fit gave one (else the score): the steps read it as ``reliability``, and the
    decision records both numbers and which one was used (``Decision.reliability``)."""
    gate, used = gate_value(inp)
    both = _gate_sentence(inp) if used == "calibrated_probability" else ""
    decision = _decide(replace(inp, reliability=gate), both)
    return replace(decision, reliability=gate_record(inp))


def _decide(inp: DecisionInput, both: str) -> Decision:
    policy = inp.policy
    # NaN compares false with every threshold, so it would pass them all: count it as 0.
    scored = inp.reliability is not None and math.isfinite(inp.reliability)
    reliability = inp.reliability if scored and inp.reliability is not None else 0.0
    rel_text = _num(reliability) + "%" if scored else "not scored (0%)"
    if both:
        rel_text = f"{rel_text} (calibrated)"
    if not math.isfinite(inp.confidence):
        inp = replace(inp, confidence=0.0)
    run = _Run(inp)

    # 1. Enabled?
    if not inp.settings.enabled:
        run.say("Auto-remediation is switched off globally (AUTO_REMEDIATION_ENABLED=false)")
        return run.finish(Outcome.NOT_ENABLED, allowed=False, requires_approval=False)
    if inp.paused:
        run.say(f"{inp.paused}; a person acts on the resolution")
        return run.finish(Outcome.NOT_ENABLED, allowed=False, requires_approval=False)
    if not inp.auto_remediation_enabled:
        run.say("Auto-remediation is not enabled for this ticket; a person acts on the resolution")
        return run.finish(Outcome.NOT_ENABLED, allowed=False, requires_approval=False)
    run.say("Auto-remediation is enabled for this ticket")

    # 2. Policy.
    if policy is None:
        run.say(f"No active policy for category {inp.category!r}, so a person must approve")
        run.needs_person.append(f"no active policy for category {inp.category!r}")
    else:
        run.say(f"Policy {policy.name} applies ({policy.mode} mode)")

    # 3. Classify risk, and refuse what the policy does not allow.
    dropped = f"; dropped by the catalogue: {'; '.join(inp.dropped)}" if inp.dropped else ""
    if not inp.actions:
        return run.reject(f"Rejected: no catalogue action to run{dropped}")
    refusals = (
        policy_refusals(policy, inp.actions, inp.resolution)
        if policy is not None
        else no_policy_refusals(inp.actions, inp.resolution)
    )
    if refusals:
        return run.reject(f"Rejected: {'; '.join(refusals)}{dropped}")
    action_type = highest_action_type(inp.actions)
    assert action_type is not None
    count = len(inp.actions)
    run.say(
        f"Risk {RISK_LEVEL[ActionType(action_type)]}: the highest action type among {count} "
        f"action{'s' if count != 1 else ''} is {action_type}{dropped}"
    )

    # 4. Thresholds.
    if not inp.observed:
        run.needs_person.append("nothing observed confirms the cause (the ticket's words alone)")
    below = _thresholds(run, reliability, rel_text, both)
    if below:
        return run.reject(f"Rejected: {'; '.join(below)}" + (f" ({both})" if both else ""))

    # 5. Safety checks.
    safety = inp.safety or NOT_CHECKED
    if not safety.all_passed:
        return run.reject(f"Safety checks failed: {'; '.join(safety.failures) or 'unknown'}")
    run.say("All checks passed")

    # 6. Pattern eligibility (and what people taught it: a rejected operation waits for one).
    run.say(_pattern_sentence(run))
    run.needs_person.extend(inp.held)

    # 7. Approval requirement.
    requires_approval, sentence = _approval(run, action_type, reliability)
    run.say(sentence)

    # 8. Execute or await approval.
    if not requires_approval:
        if run.mode == MODE_ENFORCE:
            run.say("Executing now, without waiting for a person")
        return run.finish(Outcome.AUTO_APPROVED, allowed=True, requires_approval=False)
    if run.mode == MODE_ENFORCE:
        run.say(_awaiting_sentence(policy))
    return run.finish(Outcome.AWAITING_APPROVAL, allowed=True, requires_approval=True)


def _thresholds(run: _Run, reliability: float, rel_text: str, both: str = "") -> list[str]:
    """Step 4: what falls below the policy's thresholds (the decision rejects on any); else
    says whether the global reliability floor still needs a person."""
    inp, policy = run.inp, run.inp.policy
    # The one copy of the rule: the claim and the review queue ask it again later.
    below = threshold_refusals(policy, inp.confidence, inp.reliability) if policy else []
    if below:
        return below
    floor = inp.settings.min_reliability
    if policy is not None:
        met = (
            f"Confidence {_pct(inp.confidence)} >= {_pct(policy.min_confidence_score)} and "
            f"reliability {rel_text} >= {_num(policy.min_reliability_score)}% meet the policy"
        )
    else:
        met = f"Confidence {_pct(inp.confidence)} and reliability {rel_text} recorded"
    if both:
        met = f"{both}. {met}"
    if reliability < floor:
        run.needs_person.append(f"reliability {rel_text} < the global floor {_num(floor)}%")
        run.say(f"{met}; below the global floor of {_num(floor)}% a person must approve")
    else:
        run.say(f"{met}; the global floor of {_num(floor)}% is met")
    return []


def _pattern_sentence(run: _Run) -> str:
    pattern = run.inp.pattern
    policy = run.inp.policy
    if pattern is None:
        run.needs_person.append("the pattern is unknown")
        return "Unknown pattern, so a person must approve"
    short = pattern.hash[:12]
    gaps = []
    if not pattern.eligible:
        gaps.append("it is not eligible for auto-remediation")
    if policy is not None and pattern.similar_resolved < policy.min_similar_tickets:
        gaps.append(
            f"{pattern.similar_resolved} similar resolved tickets < {policy.min_similar_tickets}"
        )
    if policy is not None and pattern.positive_outcome_rate < policy.min_positive_feedback_rate:
        gaps.append(
            f"positive outcomes {_pct(pattern.positive_outcome_rate)} < "
            f"{_pct(policy.min_positive_feedback_rate)}"
        )
    if gaps:
        run.needs_person.append(f"pattern {short} is not yet trusted")
        return f"Pattern {short} is not yet trusted ({'; '.join(gaps)}), so a person must approve"
    return (
        f"Known good pattern {short}: {pattern.similar_resolved} similar resolved tickets, "
        f"{_pct(pattern.positive_outcome_rate)} positive outcomes"
    )


def _approval(run: _Run, action_type: str, reliability: float) -> tuple[bool, str]:
    """(requires_approval, the step-7 sentence)."""
    inp = run.inp
    policy = inp.policy
    reasons: list[str] = []
    if action_type == ActionType.CRITICAL_WRITE:
        reasons.append("critical_write actions always need approval")
    reasons.extend(run.needs_person)
    if policy is not None:
        threshold = policy.auto_approve_threshold
        rel = _num(reliability) + "%"
        if threshold is None:
            reasons.append(f"policy {policy.name} never auto-approves")
        elif reliability >= threshold:
            if not in_rollout(inp.ticket_id, policy.rollout_percentage):
                reasons.append(
                    f"the ticket is outside the {policy.rollout_percentage}% rollout "
                    f"(bucket {rollout_bucket(inp.ticket_id)})"
                )
            elif not reasons:
                sentence = f"Auto-approved: reliability {rel} >= {_num(threshold)}%"
                if policy.rollout_percentage < ROLLOUT_BUCKETS:
                    sentence += f" (within the {policy.rollout_percentage}% rollout)"
                return False, sentence
        elif policy.requires_approval or inp.settings.require_approval:
            reasons.append(f"reliability {rel} < the auto-approve threshold {_num(threshold)}%")
        elif not in_rollout(inp.ticket_id, policy.rollout_percentage):
            reasons.append(
                f"the ticket is outside the {policy.rollout_percentage}% rollout "
                f"(bucket {rollout_bucket(inp.ticket_id)})"
            )
        elif not reasons:
            return False, (
                f"No approval needed: neither policy {policy.name} nor the global settings "
                "require it"
            )
    return True, f"Approval required: {'; '.join(reasons)}"


def _awaiting_sentence(policy: PolicyRules | None) -> str:
    if policy is None or not policy.approvers:
        who = "a user with the approve_remediation permission"
    else:
        who = "the policy's approvers"
    count = policy.required_approvals if policy is not None else 1
    approvals = "1 approval" if count == 1 else f"{count} approvals"
    return f"Awaiting {approvals} from {who}"


__all__ = [
    "NOT_CHECKED",
    "RISK_ORDER",
    "Decision",
    "DecisionInput",
    "Outcome",
    "PatternFacts",
    "SafetyFacts",
    "decide",
    "gate_value",
    "highest_action_type",
    "in_rollout",
    "rollout_bucket",
]
