"""Shadow agreement: did what a person did with a ticket match what the system proposed?

Pure: no Django. Approvals and rejections need no rule (an approval accepts exactly the
proposed actions, bound by their digest: agreed; a rejection: disagreed). A trusted
feedback is read by ``feedback_agreement``, in this order (docs/learning.md):

Nothing proposed (no actions):

1. the person says how they fixed it (``actual_actions_taken`` or ``actual_resolution``),
   or says the analysis was wrong (``negative``, ``resolution_accurate`` or
   ``actions_worked`` false): **disagreed**, the system had nothing;
2. ``positive`` with no fix recorded: the person confirms nothing needed doing: **agreed**;
3. otherwise (neutral, nothing recorded): no verdict.

Actions proposed:

1. the feedback says the suggestion was wrong (``negative``, ``resolution_accurate`` false
   or ``actions_worked`` false): **disagreed**;
2. the person lists the catalogue actions they took (items of ``actual_actions_taken``
   with an ``operation``): **agreed** when they are the proposed actions (same operations
   on the same targets, each way round), else **disagreed**;
3. ``positive`` on a ticket whose actions did not run (shadow mode, manual review, a
   rejected request): **agreed**;
4. otherwise no verdict: neutral, or positive on a ticket whose actions ran (the run, not a
   person, handled it; its outcome already counts as a remediation attempt).

Targets: an action's target is its ``system``, else its target parameter; compared
case-insensitively. A taken action naming no target matches a proposed action of the same
operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from remediation.catalogue.rules.operations import get_operation

NEGATIVE = "negative"
POSITIVE = "positive"


@dataclass(frozen=True)
class Verdict:
    agreed: bool
    reason: str


def action_key(action: Mapping[str, Any]) -> tuple[str, str]:
    """(operation, target) of a proposed or taken action; the target may be ''."""
    operation = str(action.get("operation") or "").strip()
    system = action.get("system")
    target = system if isinstance(system, str) else ""
    if not target:
        spec = get_operation(operation)
        params = action.get("params")
        if spec is not None and isinstance(params, Mapping):
            value = params.get(spec.target_param)
            target = value if isinstance(value, str) else ""
    return operation, target.strip().casefold()


def _matches(taken: tuple[str, str], proposed: tuple[str, str]) -> bool:
    return taken[0] == proposed[0] and (not taken[1] or taken[1] == proposed[1])


def actions_match(
    taken: Sequence[Mapping[str, Any]], proposed: Sequence[Mapping[str, Any]]
) -> bool:
    """Every taken action is a proposed one and every proposed action was taken."""
    t = [action_key(a) for a in taken]
    p = [action_key(a) for a in proposed]
    return all(any(_matches(x, y) for y in p) for x in t) and all(
        any(_matches(x, y) for x in t) for y in p
    )


def _describe(actions: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(f"{op} {target}".strip() for op, target in (action_key(a) for a in actions))


def feedback_agreement(
    *,
    proposed: Sequence[Any],
    taken: Sequence[Any],
    feedback_type: str,
    resolution_accurate: bool | None,
    actions_worked: bool | None,
    actual_resolution: str,
    ran: bool,
) -> Verdict | None:
    """The verdict of one trusted feedback (see the module's rule), or None for none.

    ``proposed``: the ticket's suggested actions; ``taken``: the feedback's
    ``actual_actions_taken`` (sentences and objects); ``ran``: the ticket's actions were
    executed."""
    proposed_actions = [a for a in proposed if isinstance(a, Mapping)]
    taken_actions = [a for a in taken if isinstance(a, Mapping) and a.get("operation")]
    says_wrong = (
        feedback_type == NEGATIVE or resolution_accurate is False or actions_worked is False
    )
    if not proposed_actions:
        if taken or actual_resolution.strip():
            return Verdict(False, "Nothing was proposed; the person fixed it by hand.")
        if says_wrong:
            return Verdict(False, "Nothing was proposed; the person says the analysis was wrong.")
        if feedback_type == POSITIVE:
            return Verdict(True, "Nothing was proposed; the person confirms nothing was needed.")
        return None
    if says_wrong:
        return Verdict(False, "The person says the proposed actions were wrong.")
    if taken_actions:
        if actions_match(taken_actions, proposed_actions):
            return Verdict(True, "The person took the proposed actions.")
        return Verdict(
            False,
            f"The person took {_describe(taken_actions)}; the system proposed "
            f"{_describe(proposed_actions)}.",
        )
    if feedback_type == POSITIVE and not ran:
        return Verdict(True, "The person confirms the proposed actions were right.")
    return None
