"""The claim's re-checks: everything that must still hold at the moment an execution starts.

Called by ``services.execution_run`` inside its one short transaction, with the ticket row
locked and the execution claimed by a conditional update. Reads only the database (no
network): the remote pre-checks run per action afterwards. Returns the reason to refuse,
or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from patterns.models import Pattern
from policies.models import AutoRemediationPolicy, PolicyMode
from policies.rules.timewindow import describe, is_open
from policies.selectors import global_settings, pause_in_force, pause_sentence, policy_for_category
from remediation.approvals.selectors import approval_check
from remediation.catalogue.rules.operations import SuggestedAction
from remediation.catalogue.rules.policy import (
    no_policy_refusals,
    policy_refusals,
    threshold_refusals,
)
from remediation.connectors.base import ActionConnector
from remediation.connectors.registry import get_connector
from remediation.execution.budget import reserve_budget
from remediation.execution.models import (
    CircuitBreaker,
    Execution,
    ExecutionStep,
    ExecutionVia,
    StepKind,
)
from remediation.tickets.models import Ticket


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
    """The decision's policy rule again, as the policy stands now: it may have changed
    since the decision (or the approval)."""
    if execution.via == ExecutionVia.AUTO and policy is None:
        return f"no active policy for category {ticket.category!r} any more"
    if policy is None and execution.policy_name:
        # Decided under a policy that an admin disabled (or removed) while the request
        # waited for approval: the approval was given under a rule that no longer stands.
        return f"policy {execution.policy_name} is no longer active for {ticket.category!r}"
    return policy_rule_refusal(
        ticket, policy, actions, now, by_person=execution.via != ExecutionVia.AUTO
    )


def policy_rule_refusal(
    ticket: Ticket,
    policy: AutoRemediationPolicy | None,
    actions: list[SuggestedAction],
    now: datetime,
    *,
    by_person: bool,
) -> str | None:
    """Why ``policy``, as it stands, refuses to run ``actions`` for ``ticket`` at ``now``,
    even with a person's approval (shadow mode, its rules, its thresholds; its time window
    only when the machine runs it by itself); None when it does not.

    The time window says when the *system* may act unattended: a person who approved a
    request, or runs a proposal from the review queue, decided to act now, in or out of
    hours (``by_person``), as they could by hand. With no policy, a person's approval
    suffices only for what the strictest default allows (``no_policy_refusals``). The claim
    checks it; the review queue asks it before offering to run a proposal.

    The thresholds are the policy's minimum confidence and reliability, against the number
    the decision's thresholds used (``decided_gate_reliability``: the calibrated probability
    x 100, or the score; else the score it saw, else the current score): what the decision
    rejected below them no person's approval runs (docs/approvals.md)."""
    if policy is None:
        refusals = no_policy_refusals(actions, ticket.resolution)
        if refusals:
            return f"no active policy for {ticket.category!r}: {'; '.join(refusals)}"
        return None
    if policy.mode == PolicyMode.SHADOW:
        return f"policy {policy.name} is in shadow mode"
    rules = policy.rules()
    refusals = policy_refusals(rules, actions, ticket.resolution)
    if refusals:
        return f"policy {policy.name} does not allow this: {'; '.join(refusals)}"
    reliability = (
        ticket.decided_gate_reliability
        if ticket.decided_gate_reliability is not None
        else ticket.decided_reliability_score
        if ticket.decided_reliability_score is not None
        else ticket.reliability_score
    )
    below = threshold_refusals(rules, ticket.confidence_score, reliability)
    if below:
        return f"policy {policy.name} does not allow this: {'; '.join(below)}"
    window = policy.time_window()
    if not by_person and not is_open(window, now):
        return f"outside the allowed time window ({describe(window)})"
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
    settings = global_settings()
    if not settings.enabled:
        return [], Refusal("auto-remediation is switched off (AUTO_REMEDIATION_ENABLED=false)")
    pause = pause_in_force(ticket.category)
    if pause is not None:
        return [], Refusal(pause_sentence(pause))
    actions, problem = actions_of(ticket)
    if problem:
        return [], Refusal(problem)
    policy = policy_for_category(ticket.category)
    reason = _policy_refusal(ticket, execution, policy, actions, now)
    if reason:
        return [], Refusal(reason)
    for action in actions:
        if not isinstance(get_connector(action.platform), ActionConnector):
            return [], Refusal(f"no connector can act on platform {action.platform}")
    approval = approval_check(ticket)
    if not approval.ok:
        return [], Refusal(f"not approved: {approval.reason}")
    tripped = _breaker(ticket, execution, policy, actions, now)
    if tripped is not None:
        return [], tripped
    # The claim already marked this execution running: it is the one being reserved.
    over = reserve_budget(
        new_actions=len(actions),
        policy=policy,
        settings=settings,
        now=now,
        exclude_pk=execution.pk,
    )
    if over:
        return [], Refusal(over)
    return actions, None
