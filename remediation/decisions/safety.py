"""The facts behind the decision's step 5: time window, rate limits, backups, health.

Fails closed: a connector that answers None ("cannot tell") or raises counts as a failed
check, and the reason says which connector and which system.

Rate limits count *actions* started in the last rolling hour: tickets whose
``remediation_started_at`` is within the hour, each weighing the number of its suggested
actions (read from the stored JSON list; no extra column needed). At most ``limit + 1``
rows are read, because every started ticket holds at least one action, so that many rows
already prove the limit is reached. The global count covers every category
(AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR); the policy count only tickets decided under that
policy (``decision_policy``). These are the decision-time checks; the execution service
re-checks them under its own lock, which is what makes them hold under concurrent workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from policies.models import AutoRemediationPolicy
from policies.rules import GlobalSettings
from policies.timewindow import describe, is_open
from remediation.catalogue.rules.operations import CATALOGUE, SuggestedAction
from remediation.connectors.base import Connector
from remediation.connectors.registry import get_connector
from remediation.decisions.rules.decision import SafetyFacts
from remediation.tickets.models import Ticket

logger = logging.getLogger(__name__)

RATE_WINDOW = timedelta(hours=1)


def actions_started_since(
    since: datetime, *, limit: int, policy_name: str | None = None, exclude_pk: int | None = None
) -> int:
    """Actions of tickets whose remediation started at or after ``since``.

    Exact up to ``limit``; any answer above ``limit`` only means "over the limit".
    """
    tickets = Ticket.objects.filter(remediation_started_at__gte=since)
    if policy_name is not None:
        tickets = tickets.filter(decision_policy=policy_name)
    if exclude_pk is not None:
        tickets = tickets.exclude(pk=exclude_pk)
    rows = tickets.order_by().values_list("suggested_actions", flat=True)[: limit + 1]
    return sum(max(1, len(a)) if isinstance(a, list) else 1 for a in rows)


def rate_limit_failures(
    *,
    new_actions: int,
    policy: AutoRemediationPolicy | None,
    settings: GlobalSettings,
    now: datetime,
    exclude_pk: int | None = None,
) -> list[str]:
    """Why running ``new_actions`` more now would break a limit (empty when it would not)."""
    since = now - RATE_WINDOW
    failures = []
    limits: list[tuple[str, int, str | None]] = [
        ("the global limit", settings.max_actions_per_hour, None)
    ]
    if policy is not None:
        limits.append((f"policy {policy.name}'s limit", policy.max_actions_per_hour, policy.name))
    for label, limit, policy_name in limits:
        used = actions_started_since(
            since, limit=limit, policy_name=policy_name, exclude_pk=exclude_pk
        )
        if used + new_actions > limit:
            shown = f"{used}" if used <= limit else f"more than {limit}"
            failures.append(
                f"{shown} actions started in the last hour plus {new_actions} would exceed "
                f"{label} of {limit} per hour"
            )
    return failures


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


def backup_needed(action: SuggestedAction, policy: AutoRemediationPolicy | None) -> bool:
    """A backup is needed where the policy asks for one, and always before an operation the
    catalogue marks as destroying state a person could not recreate (SPEC §6)."""
    operation = CATALOGUE.get(action.operation)
    return bool(policy is not None and policy.requires_backup) or bool(
        operation is not None and operation.needs_backup
    )


def gather(
    *,
    actions: Sequence[SuggestedAction],
    policy: AutoRemediationPolicy | None,
    settings: GlobalSettings,
    now: datetime,
    exclude_pk: int | None = None,
) -> SafetyFacts:
    """Run every check and say why each failure failed."""
    failures: list[str] = []

    time_window_ok = True
    if policy is not None:
        window = policy.time_window()
        time_window_ok = is_open(window, now)
        if not time_window_ok:
            failures.append(f"outside the allowed time window ({describe(window)})")

    rate_failures = rate_limit_failures(
        new_actions=len(actions), policy=policy, settings=settings, now=now, exclude_pk=exclude_pk
    )
    failures.extend(rate_failures)

    backup_ok = True
    for action in actions:
        if not backup_needed(action, policy):
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
