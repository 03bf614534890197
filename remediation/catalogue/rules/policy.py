"""What a policy allows of the catalogue's actions: the one copy of that rule.

Pure (no Django). The decision (steps 3 and 4) and the claim's re-check at the choke point
(and the review queue, before it offers to run a proposal) all ask ``policy_refusals`` and
``threshold_refusals``; the decision's safety step, the what-if replay and the claim ask
``backup_needed``. A rule changed here changes everywhere it is enforced.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules import PolicyRules
from remediation.catalogue.rules.operations import CATALOGUE, SuggestedAction


def forbidden_hits(words: Iterable[str], texts: Iterable[str]) -> list[str]:
    """The forbidden words found in any text, case-insensitively, as whole words.

    Letters and digits form words; ``_`` and ``-`` separate them, so "shutdown" is found in
    "shutdown_vm" and "vm-shutdown" but "format" is not found in "information".
    """
    texts = list(texts)
    hits = []
    for word in words:
        word = word.strip()
        if not word:
            continue
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", re.IGNORECASE)
        if any(pattern.search(t) for t in texts):
            hits.append(word)
    return hits


def _strings(value: Any) -> list[str]:
    """Every string inside a parameter value (keys and values, nested)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple | set | frozenset):
        return [s for v in value for s in _strings(v)]
    if value is None:
        return []
    return [str(value)]


def _action_texts(action: SuggestedAction) -> list[str]:
    """What a forbidden word is looked for in: the operation's name and what it does (the
    catalogue's summary, so "delete" also forbids restart_pod, which deletes the pod), the
    analyzer's text for it, and every parameter."""
    operation = CATALOGUE.get(action.operation)
    summary = [operation.summary] if operation is not None else []
    return [action.operation, *summary, action.action, *_strings(action.params)]


def _label(action: SuggestedAction) -> str:
    return f"{action.operation} on {action.system}"


# With no policy for the category, a person's approval is the only rule, and the submitter
# chooses the category: so what runs there is never more than the strictest default allows
# (docs/decisions.md): safe writes, one approval (AUTO_REMEDIATION_REQUIRE_APPROVAL's
# default); a critical action needs a policy's approvers and M-of-N.
NO_POLICY_ACTION_TYPES = ("read_only", "safe_write")


def no_policy_refusals(actions: Iterable[SuggestedAction], resolution: str = "") -> list[str]:
    """Why these actions may not run, even approved, in a category no policy governs."""
    return [
        f"{_label(action)} is {action.action_type}, which needs a policy for its category "
        "(none is active)"
        for action in actions
        if action.action_type not in NO_POLICY_ACTION_TYPES
    ]


def policy_refusals(
    policy: PolicyRules, actions: Iterable[SuggestedAction], resolution: str = ""
) -> list[str]:
    """Why ``policy`` does not allow these actions (empty when it does), one reason each:
    an action type or platform it does not list, a missing rollback plan it requires, a
    forbidden word in an action or in the resolution text."""
    refusals: list[str] = []
    for action in actions:
        if action.action_type not in policy.allowed_action_types:
            refusals.append(
                f"{_label(action)} is {action.action_type}, which policy {policy.name} "
                "does not allow"
            )
        if action.platform not in policy.allowed_systems:
            refusals.append(
                f"{_label(action)} runs on {action.platform}, which policy {policy.name} "
                "does not allow"
            )
        if policy.requires_rollback_plan and not action.rollback:
            refusals.append(f"{_label(action)} has no rollback plan, which the policy requires")
        hits = forbidden_hits(policy.forbidden_commands, _action_texts(action))
        if hits:
            refusals.append(f"{_label(action)} mentions forbidden {', '.join(hits)}")
    hits = forbidden_hits(policy.forbidden_commands, [resolution])
    if hits:
        refusals.append(f"the resolution mentions forbidden {', '.join(hits)}")
    return refusals


def number_text(value: float) -> str:
    """92.0 -> "92", 87.456 -> "87.46": how numbers read in the reasoning."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def percent_text(rate: float) -> str:
    return f"{number_text(rate * 100)}%"


def threshold_refusals(
    policy: PolicyRules, confidence: float | None, reliability: float | None
) -> list[str]:
    """What falls below ``policy``'s thresholds (empty when nothing does): its minimum
    confidence and its minimum reliability. A score that is missing or not a number counts
    as 0 (NaN compares false with every threshold, so it would pass them all)."""
    scored = reliability is not None and math.isfinite(reliability)
    rel = reliability if scored and reliability is not None else 0.0
    rel_text = number_text(rel) + "%" if scored else "not scored (0%)"
    conf = confidence if confidence is not None and math.isfinite(confidence) else 0.0
    below = []
    if conf < policy.min_confidence_score:
        below.append(
            f"confidence {percent_text(conf)} < the policy's "
            f"{percent_text(policy.min_confidence_score)}"
        )
    if rel < policy.min_reliability_score:
        below.append(
            f"reliability {rel_text} < the policy's {number_text(policy.min_reliability_score)}%"
        )
    return below


def backup_needed(action: SuggestedAction, policy: PolicyRules | None) -> bool:
    """A backup is needed where the policy asks for one, and always before an operation the
    catalogue marks as destroying state a person could not recreate (``needs_backup``)."""
    operation = CATALOGUE.get(action.operation)
    return bool(policy is not None and policy.requires_backup) or bool(
        operation is not None and operation.needs_backup
    )
