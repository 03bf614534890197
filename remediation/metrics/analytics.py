"""Autonomy over the weeks: what ran alone, with a person, or was refused; the execution
success and rollback rates, the outcome success rate (``remediation.rules``); approval
latency; time to resolve; the patterns that earned or lost autonomy. One definition of each
number, shared with /metrics (``selectors.autonomy``, ``approval_latency``,
``execution_ends``, ``auto_remediation_counts`` are the same functions the scrape calls,
here over a week's window), the API (``GET /api/v1/stats/analytics``), the page
(``/stats/analytics/``) and docs/observability.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from remediation.audit.models import AuditAction, AuditEvent
from remediation.execution import rates
from remediation.execution.models import ExecutionState
from remediation.metrics import selectors
from remediation.metrics.selectors import PERSON, UNATTENDED
from remediation.rules import mean, outcome_success_rate, ratio

SECONDS_DECIMALS = 1


@dataclass(frozen=True)
class Week:
    start: str  # ISO date of its Monday
    unattended: int  # executions claimed, decided by the engine alone
    with_person: int  # executions claimed after a person approved
    refused: int  # decisions that refused to act (the ticket went to a person)
    ended: int  # executions that ended (succeeded, rolled back, failed, unknown)
    succeeded: int
    rolled_back: int
    execution_success_rate: float | None  # succeeded / concluded executions
    rollback_rate: float | None  # rolled_back / concluded executions
    outcome_succeeded: int  # executed tickets created in the week, outcome success
    outcome_failed: int  # ... outcome failure (the run failed, or the fix did not hold)
    outcome_success_rate: float | None  # succeeded / (succeeded + failed) of those
    false_autonomy: int  # unattended, and the ticket failed (the run, or the fix's hold)
    false_autonomy_rate: float | None  # false_autonomy / unattended
    unattended_share: float | None  # unattended / (unattended + with_person)
    approvals_decided: int
    approval_latency_seconds: float | None  # mean, opening to a person's decision
    resolve_seconds_unattended: float | None  # mean, submission to resolution
    resolve_seconds_person: float | None
    patterns_earned: int  # patterns that became eligible to run alone
    patterns_lost: int  # patterns that stopped being eligible


def _count(action: AuditAction, since: datetime, until: datetime, **details: Any) -> int:
    filters = {f"details__{k}": v for k, v in details.items()}
    return AuditEvent.objects.filter(
        action=action, created_at__gte=since, created_at__lt=until, **filters
    ).count()


def week(since: datetime, until: datetime) -> Week:
    a = selectors.autonomy(since, until)
    ends = selectors.execution_ends(since, until)
    latency = selectors.approval_latency(since, until)
    outcomes = selectors.auto_remediation_counts(since, until)
    ended = sum(ends.values())
    unattended, person = a.executions[UNATTENDED], a.executions[PERSON]
    return Week(
        start=since.date().isoformat(),
        unattended=unattended,
        with_person=person,
        refused=_count(AuditAction.DECISION_MADE, since, until, outcome="rejected"),
        ended=ended,
        succeeded=ends[ExecutionState.SUCCEEDED],
        rolled_back=ends[ExecutionState.ROLLED_BACK],
        execution_success_rate=rates.execution_success_rate(ends),
        rollback_rate=rates.rollback_rate(ends),
        outcome_succeeded=outcomes.successes,
        outcome_failed=outcomes.failures,
        outcome_success_rate=outcome_success_rate(outcomes.successes, outcomes.failures),
        false_autonomy=a.false_autonomy,
        false_autonomy_rate=ratio(a.false_autonomy, unattended),
        unattended_share=ratio(unattended, unattended + person),
        approvals_decided=latency.count,
        approval_latency_seconds=mean(latency.sum_seconds, latency.count, SECONDS_DECIMALS),
        resolve_seconds_unattended=mean(
            a.resolve_seconds[UNATTENDED], a.resolved[UNATTENDED], SECONDS_DECIMALS
        ),
        resolve_seconds_person=mean(
            a.resolve_seconds[PERSON], a.resolved[PERSON], SECONDS_DECIMALS
        ),
        patterns_earned=_count(
            AuditAction.PATTERN_ELIGIBILITY_CHANGED, since, until, eligible=True
        ),
        patterns_lost=_count(AuditAction.PATTERN_ELIGIBILITY_CHANGED, since, until, eligible=False),
    )


def weeks(count: int, now: datetime | None = None) -> list[Week]:
    """The last ``count`` weeks (Monday to Monday, in TIME_ZONE), oldest first, the current
    one last. About five queries a week."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=i) for i in range(count - 1, -1, -1)]
    tz = timezone.get_current_timezone()
    out = []
    for start in starts:
        since = timezone.make_aware(datetime.combine(start, time.min), tz)
        out.append(week(since, since + timedelta(weeks=1)))
    return out


def analytics(count: int, now: datetime | None = None) -> dict[str, Any]:
    rows = weeks(count, now)
    return {"weeks": count, "rows": [asdict(w) for w in rows]}
