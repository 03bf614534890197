"""Reads behind /metrics: one query each, bounded cost whatever the history size.

Each function reads only what an index or a small summary table gives cheaply:

- the daily rollups (``CategoryDailyStats``: one row per category per day), not the
  feedback or ticket tables;
- tickets through an index that holds only the rows asked about (executed tickets, tickets
  in a given status);
- the audit trail through its (action, created_at) index;
- django-q2's queue table, which holds only tasks not yet acknowledged;
- execution steps through their (kind, operation, state) index, executions through their
  (state, claimed_at) index, open circuit breakers through ``is_open``, approval requests
  through their (status, opened_at) index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django_q.models import OrmQ

from patterns.selectors import pattern_count_eligible
from remediation.approvals.models import ApprovalRequest, ApprovalStatus
from remediation.audit.models import AuditAction, AuditEvent
from remediation.execution.models import (
    CircuitBreaker,
    Execution,
    ExecutionState,
    ExecutionStep,
    ExecutionVia,
    StepKind,
    StepState,
)
from remediation.tickets.models import CategoryDailyStats, Ticket, TicketOutcome, TicketStatus

# The reliability gauge averages the scores of tickets created in this many recent days, so
# it follows the trend instead of being pinned by years of history.
RELIABILITY_WINDOW_DAYS = 30

# Statuses in which a ticket waits for something; each is counted through the
# (status, created_at) index, and together they are few rows.
IN_PROGRESS_STATUSES = (
    TicketStatus.PROCESSING,
    TicketStatus.AWAITING_APPROVAL,
    TicketStatus.REMEDIATING,
)


def reliability_by_category(*, now: datetime) -> dict[str, float]:
    """Average reliability score (0-100) per category over the scored tickets created in
    the last ``RELIABILITY_WINDOW_DAYS`` days; categories without a scored ticket there are
    left out (no data is not a score of 0)."""
    since = (now - timedelta(days=RELIABILITY_WINDOW_DAYS - 1)).date()
    rows = (
        CategoryDailyStats.objects.filter(day__gte=since)
        .values("category")
        .annotate(total=Sum("reliability_sum"), count=Sum("reliability_count"))
        .order_by("category")
    )
    return {r["category"]: r["total"] / r["count"] for r in rows if r["count"]}


@dataclass(frozen=True)
class RemediationCounts:
    attempts: int
    successes: int
    failures: int


def auto_remediation_counts(
    since: datetime | None = None, until: datetime | None = None
) -> RemediationCounts:
    """Executed tickets, and those of them whose outcome is success / failure (the rest are
    still running or their result is unknown): the counts of the outcome success rate
    (``remediation.rules.outcome_success_rate``). A measured fix that did not hold is a
    failure. ``since``/``until``: only tickets created in that window (the analytics'
    weeks, as the stats API counts tickets); /metrics counts them all."""
    totals = Ticket.objects.filter(
        _window("created_at", since, until), auto_remediation_executed=True
    ).aggregate(
        attempts=Count("id"),
        successes=Count("id", filter=Q(outcome=TicketOutcome.SUCCESS)),
        failures=Count("id", filter=Q(outcome=TicketOutcome.FAILURE)),
    )
    return RemediationCounts(**totals)


# Who decided an execution, as the autonomy figures name it: the decision engine alone
# (unattended) or a person (an approval, the admin, a command).
UNATTENDED, PERSON = "unattended", "person"


@dataclass(frozen=True)
class Autonomy:
    executions: dict[str, int]  # by who decided
    false_autonomy: int  # unattended, and the ticket ended in failure (run or hold)
    resolved: dict[str, int]  # tickets resolved by an execution, by who decided
    resolve_seconds: dict[str, float]  # their time from submission to resolution, in all


def _window(field: str, since: datetime | None, until: datetime | None) -> Q:
    """``since <= field < until`` (either end open when None)."""
    q = Q()
    if since is not None:
        q &= Q(**{f"{field}__gte": since})
    if until is not None:
        q &= Q(**{f"{field}__lt": until})
    return q


def autonomy(since: datetime | None = None, until: datetime | None = None) -> Autonomy:
    """Executions claimed at the choke point (refusals and those still waiting excluded),
    by who decided; the unattended ones whose ticket failed (the run failed, or the fix did
    not hold); and the time to resolve, unattended vs with a person. One grouped query.
    ``since``/``until``: only executions claimed in that window (the analytics' weeks);
    /metrics counts them all, with the same definition."""
    claimed = ~Q(state__in=(ExecutionState.PENDING, ExecutionState.REFUSED)) & _window(
        "claimed_at", since, until
    )
    resolved = Q(ticket__status=TicketStatus.RESOLVED, ticket__resolved_at__isnull=False)
    rows = (
        Execution.objects.filter(claimed)
        .order_by()
        .values("via")
        .annotate(
            n=Count("id"),
            failed=Count("id", filter=Q(ticket__outcome=TicketOutcome.FAILURE)),
            resolved=Count("id", filter=resolved),
            seconds=Sum(
                ExpressionWrapper(
                    F("ticket__resolved_at") - F("ticket__created_at"),
                    output_field=DurationField(),
                ),
                filter=resolved,
            ),
        )
    )
    executions = {UNATTENDED: 0, PERSON: 0}
    done = {UNATTENDED: 0, PERSON: 0}
    seconds = {UNATTENDED: 0.0, PERSON: 0.0}
    false_autonomy = 0
    for row in rows:
        who = UNATTENDED if row["via"] == ExecutionVia.AUTO else PERSON
        executions[who] += row["n"]
        done[who] += row["resolved"]
        seconds[who] += row["seconds"].total_seconds() if row["seconds"] else 0.0
        if who == UNATTENDED:
            false_autonomy += row["failed"]
    return Autonomy(executions, false_autonomy, done, seconds)


def daily_totals() -> dict[str, float]:
    """Sums over every daily rollup row, in one query: feedback by type, and the
    investigations (how many, how many could not look, their calls, the calls that failed,
    the seconds they took in all)."""
    totals = CategoryDailyStats.objects.aggregate(
        positive=Sum("positive_count"),
        negative=Sum("negative_count"),
        neutral=Sum("neutral_count"),
        investigations=Sum("investigations"),
        failed=Sum("investigations_failed"),
        calls=Sum("investigation_calls"),
        errors=Sum("investigation_call_errors"),
        seconds=Sum("investigation_seconds_sum"),
    )
    return {key: float(value or 0) for key, value in totals.items()}


def tickets_in_progress() -> dict[str, int]:
    """How many tickets sit in each not-yet-concluded status (every such status present)."""
    rows = (
        Ticket.objects.filter(status__in=IN_PROGRESS_STATUSES)
        .values("status")
        .annotate(n=Count("id"))
        .order_by("status")
    )
    counts = {str(s): 0 for s in IN_PROGRESS_STATUSES}
    counts.update({r["status"]: r["n"] for r in rows})
    return counts


@dataclass(frozen=True)
class WaitingApprovals:
    count: int
    oldest_since: datetime | None


def approvals_waiting() -> WaitingApprovals:
    """Approval requests still waiting for people, and since when the oldest has waited
    (its ``opened_at``; read through the (status, opened_at) index)."""
    row = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).aggregate(
        count=Count("id"), oldest=Min("opened_at")
    )
    return WaitingApprovals(count=row["count"], oldest_since=row["oldest"])


# Upper bounds (seconds) of the approval latency histogram: a minute to a day.
APPROVAL_LATENCY_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400)


@dataclass(frozen=True)
class Histogram:
    # (upper bound, cumulative count) for each bucket, then +Inf's count.
    buckets: tuple[tuple[float, int], ...]
    count: int
    sum_seconds: float


def approval_latency(since: datetime | None = None, until: datetime | None = None) -> Histogram:
    """Time from opening to a person's decision, for every approved or rejected request
    (expired ones were not decided by a person). One aggregate: a filtered count per bucket.
    ``since``/``until``: only requests decided in that window."""
    waited = ExpressionWrapper(F("decided_at") - F("opened_at"), output_field=DurationField())
    decided = ApprovalRequest.objects.filter(
        _window("decided_at", since, until),
        status__in=(ApprovalStatus.APPROVED, ApprovalStatus.REJECTED),
        decided_at__isnull=False,
    ).alias(waited=waited)
    aggregates = {
        f"le_{b}": Count("id", filter=Q(waited__lte=timedelta(seconds=b)))
        for b in APPROVAL_LATENCY_BUCKETS
    }
    row = decided.aggregate(count=Count("id"), total=Sum(waited), **aggregates)
    total = row["total"]
    return Histogram(
        buckets=tuple((float(b), row[f"le_{b}"]) for b in APPROVAL_LATENCY_BUCKETS),
        count=row["count"],
        sum_seconds=total.total_seconds() if total is not None else 0.0,
    )


# A step's state as an outcome label; steps still running have no outcome yet.
STEP_OUTCOMES: dict[str, str] = {
    StepState.SUCCEEDED: "success",
    StepState.FAILED: "failure",
    StepState.UNKNOWN: "unknown",
    StepState.REFUSED: "refused",
    StepState.NOTHING_TO_UNDO: "nothing_to_undo",
}


@dataclass(frozen=True)
class StepCounts:
    # {(operation, outcome): count}
    actions: dict[tuple[str, str], int]
    rollbacks: dict[tuple[str, str], int]


def execution_steps() -> StepCounts:
    """Concluded action and rollback steps, by operation and outcome: one grouped read of
    the (kind, operation, state) index. Steps are never deleted, so these only grow."""
    rows = (
        ExecutionStep.objects.exclude(state=StepState.RUNNING)
        .values("kind", "operation", "state")
        .annotate(n=Count("id"))
        .order_by("kind", "operation", "state")
    )
    actions: dict[tuple[str, str], int] = {}
    rollbacks: dict[tuple[str, str], int] = {}
    for r in rows:
        into = rollbacks if r["kind"] == StepKind.ROLLBACK else actions
        key = (r["operation"], STEP_OUTCOMES.get(r["state"], r["state"]))
        into[key] = into.get(key, 0) + r["n"]
    return StepCounts(actions=actions, rollbacks=rollbacks)


def executions_unknown_outcome() -> int:
    """Executions whose result is unknown and not yet reconciled by a person."""
    return Execution.objects.filter(state=ExecutionState.UNKNOWN).count()


def open_circuit_breakers() -> list[tuple[str, str]]:
    """(pattern id, target) of every open breaker: few rows, through the ``is_open`` index."""
    rows = (
        CircuitBreaker.objects.filter(is_open=True)
        .order_by("pattern_id", "target")
        .values_list("pattern_id", "target")
    )
    return [(str(p), t) for p, t in rows]


def eligible_patterns() -> int:
    return pattern_count_eligible()


def analysis_failures() -> int:
    """Analyses that failed (analyzer error, Anthropic down, missing key...), ever. Audit
    rows are never deleted, so this only grows."""
    return AuditEvent.objects.filter(action=AuditAction.ANALYSIS_FAILED).count()


@dataclass(frozen=True)
class QueueState:
    depth: int
    oldest_waiting_since: datetime | None


def task_queue(*, now: datetime) -> QueueState:
    """Tasks on the django-q2 ORM broker not yet acknowledged (waiting or running), and
    since when the oldest *unclaimed* one has waited.

    A waiting task's ``lock`` is when it became available (enqueue time, or when a claim on
    it expired); a worker claims it by moving ``lock`` into the future. An old unclaimed
    task means no worker is taking work.
    """
    # Every queue in the database: operators who run several named clusters see them all.
    row = OrmQ.objects.aggregate(depth=Count("id"), oldest=Min("lock", filter=Q(lock__lte=now)))
    return QueueState(depth=row["depth"], oldest_waiting_since=row["oldest"])


# How an execution ended, as the analytics and the rates name it (still running, refused at
# claim or never claimed: not ended).
ENDED_STATES = (
    ExecutionState.SUCCEEDED,
    ExecutionState.ROLLED_BACK,
    ExecutionState.FAILED,
    ExecutionState.UNKNOWN,
)


def execution_ends(since: datetime | None = None, until: datetime | None = None) -> dict[str, int]:
    """Executions that ended (finished in the window), by end state: every state of
    ``ENDED_STATES`` present. The rates over them: ``remediation.execution.rates``."""
    rows = (
        Execution.objects.filter(_window("finished_at", since, until), state__in=ENDED_STATES)
        .values("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {str(state): 0 for state in ENDED_STATES}
    counts.update({r["state"]: r["n"] for r in rows})
    return counts
