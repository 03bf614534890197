"""The claim's re-checks: everything that must still hold at the moment an execution starts.

Called by ``services.execution_run`` inside its one short transaction, with the ticket row
locked and the execution claimed by a conditional update. Reads only the database (no
network): the remote pre-checks run per action afterwards. Returns the reason to refuse,
or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Sum

from patterns.models import Pattern
from policies.models import AutoRemediationPolicy, PolicyMode
from policies.selectors import global_settings, policy_for_category
from policies.timewindow import describe, is_open
from remediation.approvals.selectors import approval_check
from remediation.catalogue.rules.operations import CATALOGUE, SuggestedAction
from remediation.connectors.base import ActionConnector
from remediation.connectors.registry import get_connector
from remediation.execution.models import (
    CircuitBreaker,
    Execution,
    ExecutionState,
    ExecutionStep,
    ExecutionVia,
    RateBudget,
    StepKind,
)
from remediation.tickets.models import Ticket

__all__ = ["CATALOGUE", "Refusal", "actions_of", "get_connector", "recheck", "reserve_budget"]

RATE_WINDOW = timedelta(hours=1)
GLOBAL_SCOPE = "global"
# Executions that used (or are using) their budget: everything claimed except refusals.
_COUNTED = (
    ExecutionState.RUNNING,
    ExecutionState.SUCCEEDED,
    ExecutionState.ROLLED_BACK,
    ExecutionState.FAILED,
    ExecutionState.UNKNOWN,
)


@dataclass(frozen=True)
class Refusal:
    reason: str
    breaker: CircuitBreaker | None = None  # set when this claim opened a circuit breaker


def actions_of(ticket: Ticket) -> tuple[list[SuggestedAction], str | None]:
    """The ticket's stored actions, re-validated by the catalogue (stored JSON is not
    trusted either)."""
    actions: list[SuggestedAction] = []
    for raw in ticket.suggested_actions or []:
        try:
            actions.append(SuggestedAction.from_dict(raw))
        except ValueError as exc:
            return [], f"a stored action no longer passes the catalogue ({exc})"
    if not actions:
        return [], "the ticket has no action to run"
    return actions, None


def _policy_refusal(
    ticket: Ticket,
    execution: Execution,
    policy: AutoRemediationPolicy | None,
    actions: list[SuggestedAction],
    now: datetime,
) -> str | None:
    if execution.via == ExecutionVia.AUTO and policy is None:
        return f"no active policy for category {ticket.category!r} any more"
    if policy is None:
        return None
    if policy.mode == PolicyMode.SHADOW:
        return f"policy {policy.name} is in shadow mode"
    for action in actions:
        if action.action_type not in policy.allowed_action_types:
            return f"policy {policy.name} no longer allows {action.action_type}"
        if action.platform not in policy.allowed_systems:
            return f"policy {policy.name} no longer allows {action.platform}"
    window = policy.time_window()
    if not is_open(window, now):
        return f"outside the allowed time window ({describe(window)})"
    return None


def _used(since: datetime, policy_name: str | None, exclude_pk: int | None) -> int:
    executions = Execution.objects.filter(state__in=_COUNTED, claimed_at__gte=since)
    if exclude_pk is not None:
        executions = executions.exclude(pk=exclude_pk)
    if policy_name is not None:
        executions = executions.filter(policy_name=policy_name)
    return int(executions.aggregate(n=Sum("action_count"))["n"] or 0)


def reserve_budget(
    *,
    new_actions: int,
    policy: AutoRemediationPolicy | None,
    now: datetime,
    exclude_pk: int | None = None,
) -> str | None:
    """Lock the limits' rows, count what the last hour used, and refuse past a limit.

    The caller's transaction then marks its execution claimed (counted from then on) before
    it commits and releases the rows: check and reservation are one atomic step.
    """
    limits: list[tuple[str, str | None, int]] = [
        (GLOBAL_SCOPE, None, global_settings().max_actions_per_hour)
    ]
    if policy is not None:
        limits.append((f"policy:{policy.name}", policy.name, policy.max_actions_per_hour))
    scopes = sorted(scope for scope, _, _ in limits)
    RateBudget.objects.bulk_create([RateBudget(scope=s) for s in scopes], ignore_conflicts=True)
    # Locked in a fixed order, so two claims never wait on each other crosswise.
    list(RateBudget.objects.select_for_update().filter(scope__in=scopes).order_by("scope"))
    since = now - RATE_WINDOW
    for _scope, policy_name, limit in limits:
        used = _used(since, policy_name, exclude_pk)
        if used + new_actions > limit:
            label = "the global limit" if policy_name is None else f"policy {policy_name}'s limit"
            return (
                f"{used} actions started in the last hour plus {new_actions} would exceed "
                f"{label} of {limit} per hour"
            )
    return None


def _breaker(
    ticket: Ticket,
    execution: Execution,
    policy: AutoRemediationPolicy | None,
    actions: list[SuggestedAction],
    now: datetime,
) -> Refusal | None:
    """Stop *automatic* execution of a pattern on a target remediated too often."""
    pattern: Pattern | None = ticket.pattern
    if pattern is None or execution.via != ExecutionVia.AUTO:
        return None
    threshold = policy.circuit_breaker_threshold if policy is not None else 3
    window = timedelta(minutes=policy.circuit_breaker_window_minutes if policy is not None else 60)
    for target in sorted({a.system for a in actions}):
        breaker = (
            CircuitBreaker.objects.select_for_update()
            .filter(pattern=pattern, target=target)
            .first()
        )
        if breaker is not None and breaker.is_open:
            return Refusal(f"the circuit breaker for this pattern on {target} is open")
        since = now - window
        if breaker is not None and breaker.rearmed_at is not None and breaker.rearmed_at > since:
            since = breaker.rearmed_at
        recent = (
            ExecutionStep.objects.filter(
                kind=StepKind.ACTION,
                target=target,
                execution__pattern=pattern,
                execution__claimed_at__gte=since,
            )
            .values("execution_id")
            .distinct()
            .count()
        )
        if recent >= threshold:
            reason = (
                f"pattern {pattern.hash[:12]} was remediated on {target} {recent} times within "
                f"{int(window.total_seconds() // 60)} minutes (limit {threshold})"
            )
            if breaker is None:
                breaker = CircuitBreaker.objects.create(
                    pattern=pattern, target=target, is_open=True, reason=reason, opened_at=now
                )
            else:
                breaker.is_open = True
                breaker.reason = reason
                breaker.opened_at = now
                breaker.save(update_fields=["is_open", "reason", "opened_at"])
            return Refusal(f"circuit breaker opened: {reason}", breaker=breaker)
    return None


def recheck(
    ticket: Ticket, execution: Execution, now: datetime
) -> tuple[list[SuggestedAction], Refusal | None]:
    """Every re-check of the claim, in order; the first that fails refuses."""
    if not global_settings().enabled:
        return [], Refusal("auto-remediation is switched off (AUTO_REMEDIATION_ENABLED=false)")
    actions, problem = actions_of(ticket)
    if problem:
        return [], Refusal(problem)
    for action in actions:
        if not isinstance(get_connector(action.platform), ActionConnector):
            return [], Refusal(f"no connector can act on platform {action.platform}")
    policy = policy_for_category(ticket.category)
    reason = _policy_refusal(ticket, execution, policy, actions, now)
    if reason:
        return [], Refusal(reason)
    approval = approval_check(ticket)
    if not approval.ok:
        return [], Refusal(f"not approved: {approval.reason}")
    tripped = _breaker(ticket, execution, policy, actions, now)
    if tripped is not None:
        return [], tripped
    # The claim already marked this execution running: it is the one being reserved.
    over = reserve_budget(new_actions=len(actions), policy=policy, now=now, exclude_pk=execution.pk)
    if over:
        return [], Refusal(over)
    return actions, None
