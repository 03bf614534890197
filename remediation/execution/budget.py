"""The hourly rate budget: counted once, from one table, over one window.

An action is *used* once its execution is claimed at the choke point (states running and
after; refusals use nothing), and weighs ``Execution.action_count``. The global limit
(``AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR``) counts every execution; a policy's limit only
those decided under that policy (``Execution.policy_name``).

Two callers, one count:

* the decision's safety step asks ``budget_failures`` without a lock and with
  ``queued_too``: runs requested in the window but not yet claimed count as well, so a
  burst of auto-approvals goes to a person at the decision instead of queueing runs that
  the claim would refuse;
* the claim calls ``reserve_budget``, which locks the limits' rows first and counts only
  what has started (every queued run is counted when it, in turn, is claimed): the check
  that holds under concurrent workers (see docs/execution.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, Sum

from policies.models import AutoRemediationPolicy
from policies.rules import GlobalSettings
from remediation.execution.models import Execution, ExecutionState, RateBudget

RATE_WINDOW = timedelta(hours=1)
GLOBAL_SCOPE = "global"
# Executions that used (or are using) their budget: everything claimed except refusals.
COUNTED = (
    ExecutionState.RUNNING,
    ExecutionState.SUCCEEDED,
    ExecutionState.ROLLED_BACK,
    ExecutionState.FAILED,
    ExecutionState.UNKNOWN,
)


def actions_used(
    since: datetime,
    *,
    policy_name: str | None = None,
    exclude_pk: int | None = None,
    queued_too: bool = False,
) -> int:
    """Actions of executions claimed at or after ``since`` (of one policy, when named);
    ``queued_too``: and of those requested since then and waiting to be claimed."""
    used = Q(state__in=COUNTED, claimed_at__gte=since)
    if queued_too:
        used |= Q(state=ExecutionState.PENDING, requested_at__gte=since)
    executions = Execution.objects.filter(used)
    if exclude_pk is not None:
        executions = executions.exclude(pk=exclude_pk)
    if policy_name is not None:
        executions = executions.filter(policy_name=policy_name)
    return int(executions.aggregate(n=Sum("action_count"))["n"] or 0)


def _limits(
    policy: AutoRemediationPolicy | None, settings: GlobalSettings
) -> list[tuple[str, str | None, int]]:
    """(scope, policy name or None for the global count, limit) of every limit that applies."""
    limits: list[tuple[str, str | None, int]] = [
        (GLOBAL_SCOPE, None, settings.max_actions_per_hour)
    ]
    if policy is not None:
        limits.append((f"policy:{policy.name}", policy.name, policy.max_actions_per_hour))
    return limits


def budget_failures(
    *,
    new_actions: int,
    policy: AutoRemediationPolicy | None,
    settings: GlobalSettings,
    now: datetime,
    exclude_pk: int | None = None,
    queued_too: bool = False,
) -> list[str]:
    """Why running ``new_actions`` more now would break a limit (empty when it would not).

    ``exclude_pk``: an execution already marked claimed that is the one being checked.
    ``queued_too``: count runs waiting in the queue as well (the decision's early answer).
    """
    since = now - RATE_WINDOW
    failures = []
    for _scope, policy_name, limit in _limits(policy, settings):
        used = actions_used(
            since, policy_name=policy_name, exclude_pk=exclude_pk, queued_too=queued_too
        )
        if used + new_actions > limit:
            label = "the global limit" if policy_name is None else f"policy {policy_name}'s limit"
            failures.append(
                f"{used} actions started in the last hour plus {new_actions} would exceed "
                f"{label} of {limit} per hour"
            )
    return failures


def reserve_budget(
    *,
    new_actions: int,
    policy: AutoRemediationPolicy | None,
    settings: GlobalSettings,
    now: datetime,
    exclude_pk: int | None = None,
) -> str | None:
    """Lock the limits' rows, count what the last hour used, and refuse past a limit.

    The caller's transaction then marks its execution claimed (counted from then on) before
    it commits and releases the rows: check and reservation are one atomic step.
    """
    scopes = sorted(scope for scope, _, _ in _limits(policy, settings))
    RateBudget.objects.bulk_create([RateBudget(scope=s) for s in scopes], ignore_conflicts=True)
    # Locked in a fixed order, so two claims never wait on each other crosswise.
    list(RateBudget.objects.select_for_update().filter(scope__in=scopes).order_by("scope"))
    failures = budget_failures(
        new_actions=new_actions, policy=policy, settings=settings, now=now, exclude_pk=exclude_pk
    )
    return failures[0] if failures else None
