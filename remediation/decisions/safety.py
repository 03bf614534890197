"""The facts behind the decision's step 5: time window, rate limits, backups, health.

Fails closed: a connector that answers None ("cannot tell") or raises counts as a failed
check, and the reason says which connector and which system.

Rate limits are the execution budget's own count (``remediation.execution.budget``), asked
here without a lock and with the runs still waiting in the queue; the claim asks the same
count again under its lock, which is what makes the limits hold under concurrent workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from policies.models import AutoRemediationPolicy
from policies.rules import GlobalSettings
from policies.rules.timewindow import describe, is_open
from remediation.catalogue.rules.operations import SuggestedAction
from remediation.catalogue.rules.policy import backup_needed
from remediation.connectors.base import Connector
from remediation.connectors.registry import get_connector
from remediation.decisions.rules.decision import SafetyFacts
from remediation.execution.budget import budget_failures

logger = logging.getLogger(__name__)


def _ask(
    connector: Connector,
    question: Callable[[SuggestedAction], bool | None],
    action: SuggestedAction,
) -> tuple[bool, str | None]:
    """Ask ``connector`` one question about ``action``; (passed, reason when not)."""
    name = getattr(connector, "name", type(connector).__name__)
    try:
        answer = question(action)
    except Exception as exc:  # a broken connector must fail the check, not the decision
        logger.warning(
            "connector %s failed on %s(%s)", name, question.__name__, action.system, exc_info=True
        )
        return False, f"connector {name} failed asking about {action.system} ({type(exc).__name__})"
    if answer is True:
        return True, None
    if answer is None:
        return False, f"connector {name} could not tell about {action.system}"
    return False, None


def gather(
    *,
    actions: Sequence[SuggestedAction],
    policy: AutoRemediationPolicy | None,
    settings: GlobalSettings,
    now: datetime,
) -> SafetyFacts:
    """Run every check and say why each failure failed."""
    failures: list[str] = []

    time_window_ok = True
    if policy is not None:
        window = policy.time_window()
        time_window_ok = is_open(window, now)
        if not time_window_ok:
            failures.append(f"outside the allowed time window ({describe(window)})")

    rate_failures = budget_failures(
        new_actions=len(actions), policy=policy, settings=settings, now=now, queued_too=True
    )
    failures.extend(rate_failures)

    backup_ok = True
    rules = policy.rules() if policy is not None else None
    for action in actions:
        if not backup_needed(action, rules):
            continue
        connector = get_connector(action.platform)
        ok, reason = _ask(connector, connector.backup_available, action)
        if not ok:
            backup_ok = False
            failures.append(reason or f"no backup of {action.system} is available")

    healthy = True
    asked: set[tuple[str, str]] = set()
    for action in actions:
        key = (action.platform, action.system)
        if key in asked:
            continue
        asked.add(key)
        connector = get_connector(action.platform)
        ok, reason = _ask(connector, connector.system_healthy, action)
        if not ok:
            healthy = False
            failures.append(reason or f"{action.system} is not healthy")

    return SafetyFacts(
        time_window_ok=time_window_ok,
        rate_limit_ok=not rate_failures,
        backup_available=backup_ok,
        system_healthy=healthy,
        failures=tuple(failures),
    )
