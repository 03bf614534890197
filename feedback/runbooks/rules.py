"""What a learned runbook is made of, and when it is used (pure: plain values in and out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from remediation.catalogue.rules.operations import get_operation, validate_suggestions

# How many distinct trusted people must teach the same fix before a learned runbook is
# used without an admin enabling it.
TEACHERS_TO_ACTIVATE = 2


def learned_operation(
    taken: Sequence[str | Mapping[str, Any]], suggested: Sequence[Mapping[str, Any]]
) -> tuple[str, dict[str, Any], str] | None:
    """(operation, default params, where it came from) for a runbook learned from feedback.

    The first catalogue-valid action the person says they took (``taken``: sentences are
    skipped); else the first valid one the ticket suggested (the resolution text is then
    what differs). Params keep everything but the target, which the analyzer takes from
    each new ticket.
    """
    actions_taken = [item for item in taken if isinstance(item, Mapping)]
    for source, candidates in (
        ("actual_actions_taken", actions_taken),
        ("suggested_actions", suggested),
    ):
        actions, _dropped = validate_suggestions(candidates)
        if actions:
            action = actions[0]
            operation = get_operation(action.operation)
            target = operation.target_param if operation is not None else ""
            params = {k: v for k, v in action.params.items() if k != target}
            return action.operation, params, source
    return None
