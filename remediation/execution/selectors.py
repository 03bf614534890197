"""Reads behind ``GET /api/v1/stats/auto-remediation``: the design's auto-remediation and
pattern metrics over the last N days.

* execution_rate: of the tickets that opted in (``enable_auto_remediation``), the share
  whose actions were executed.
* execution_success_rate: of the executions that concluded (succeeded, rolled back or
  failed), the share that succeeded (``remediation.rules``). Unknown outcomes are counted
  apart: they are neither.
* outcome_success_rate: of the executed tickets whose outcome concluded, the share whose
  fix held (outcome success; a fix that did not hold is a failure; ``remediation.rules``).
* approval_rate: of the opted-in tickets the engine allowed, the share that needed a person.
* eligible_patterns / pattern_outcome_success_rate: patterns eligible (and switched on)
  now, and the outcome success rate over every pattern's remediated tickets.

Tickets count by the day they were created, executions by the day they were requested.
A fixed number of grouped queries, whatever the history.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from patterns.models import Pattern
from remediation import rules
from remediation.execution import rates
from remediation.execution.models import CircuitBreaker, Execution, ExecutionState, ExecutionStep
from remediation.tickets.models import Ticket, TicketOutcome


def _metrics(t: dict[str, int], e: dict[str, int]) -> dict[str, Any]:
    return {
        "enabled_tickets": t["enabled"],
        "executed_tickets": t["executed"],
        "allowed_tickets": t["allowed"],
        "approval_required_tickets": t["needs_approval"],
        "execution_rate": rules.ratio(t["executed"], t["enabled"]),
        "approval_rate": rules.ratio(t["needs_approval"], t["allowed"]),
        "executions": e["total"],
        "succeeded": e["succeeded"],
        "rolled_back": e["rolled_back"],
        "failed": e["failed"],
        "unknown": e["unknown"],
        "refused": e["refused"],
        # The one definition of each (remediation.rules), shared with /metrics.
        "execution_success_rate": rates.execution_success_rate(e),
        "outcome_succeeded": t["outcome_succeeded"],
        "outcome_failed": t["outcome_failed"],
        "outcome_success_rate": rules.outcome_success_rate(
            t["outcome_succeeded"], t["outcome_failed"]
        ),
    }


_ZERO_T = dict.fromkeys(
    ("enabled", "executed", "allowed", "needs_approval", "outcome_succeeded", "outcome_failed"), 0
)
_ZERO_E = dict.fromkeys(("total", "succeeded", "rolled_back", "failed", "unknown", "refused"), 0)


def _by_category(rows: Any, keys: dict[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        values: dict[str, Any] = dict(row)
        out[str(values["category"])] = {k: int(values[k]) for k in keys}
    return out


def auto_remediation_stats(*, days: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    since = timezone.localdate(now) - timedelta(days=days - 1)
    since_at = timezone.make_aware(datetime.combine(since, time.min))

    enabled = Q(auto_remediation_enabled=True)
    allowed = enabled & Q(remediation_decision__allowed=True)
    executed = Q(auto_remediation_executed=True)
    tickets = (
        Ticket.objects.filter(created_at__gte=since_at)
        .values("category")
        .annotate(
            enabled=Count("id", filter=enabled),
            executed=Count("id", filter=enabled & executed),
            allowed=Count("id", filter=allowed),
            needs_approval=Count(
                "id", filter=allowed & Q(remediation_decision__requires_approval=True)
            ),
            # Every executed ticket, opted in or not (as /metrics counts them).
            outcome_succeeded=Count("id", filter=executed & Q(outcome=TicketOutcome.SUCCESS)),
            outcome_failed=Count("id", filter=executed & Q(outcome=TicketOutcome.FAILURE)),
        )
        .order_by("category")
    )
    executions = (
        Execution.objects.filter(requested_at__gte=since_at)
        .values("category")
        .annotate(
            total=Count("id"),
            **{
                name: Count("id", filter=Q(state=state))
                for name, state in (
                    ("succeeded", ExecutionState.SUCCEEDED),
                    ("rolled_back", ExecutionState.ROLLED_BACK),
                    ("failed", ExecutionState.FAILED),
                    ("unknown", ExecutionState.UNKNOWN),
                    ("refused", ExecutionState.REFUSED),
                )
            },
        )
        .order_by("category")
    )
    per_t = _by_category(tickets, _ZERO_T)
    per_e = _by_category(executions, _ZERO_E)
    total_t = {k: sum(r[k] for r in per_t.values()) for k in _ZERO_T}
    total_e = {k: sum(r[k] for r in per_e.values()) for k in _ZERO_E}

    patterns = Pattern.objects.aggregate(
        eligible=Count("id", filter=Q(eligible_for_auto_remediation=True, enabled=True)),
        attempts=Sum("auto_remediation_attempts"),
        successes=Sum("auto_remediation_successes"),
    )
    by_operation = (
        ExecutionStep.objects.filter(execution__requested_at__gte=since_at, kind="action")
        .values("operation", "state")
        .annotate(n=Count("id"))
        .order_by("operation", "state")
    )
    return {
        "days": days,
        "since": since.isoformat(),
        **_metrics(total_t, total_e),
        "eligible_patterns": patterns["eligible"] or 0,
        "pattern_outcome_success_rate": rules.ratio(
            patterns["successes"] or 0, patterns["attempts"] or 0
        ),
        "open_circuit_breakers": CircuitBreaker.objects.filter(is_open=True).count(),
        "actions_by_operation": [dict(row) for row in by_operation],
        "by_category": [
            {"category": c, **_metrics(per_t.get(c, _ZERO_T), per_e.get(c, _ZERO_E))}
            for c in sorted(set(per_t) | set(per_e))
        ],
    }
