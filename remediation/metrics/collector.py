"""A prometheus_client collector that reads every number from the database at scrape time.

Why from the database: the web runs as several gunicorn processes (on several machines) and
the worker as others. A counter incremented in process memory would count only what that
process saw, and a scrape reaches one process. Numbers read from the shared database are the
same whichever process answers, and survive restarts.

The counters are counts of rows that only grow (executed tickets, feedback, audit events),
so Prometheus' ``rate()`` and ``increase()`` work on them as on any counter. See
docs/observability.md for the exact definitions and the one case where a count can drop.

Each metric family is one small function over one selector, listed in ``FAMILIES``; adding
a metric is a selector, a function and a line there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from django.utils import timezone
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from remediation.metrics import selectors

PREFIX = "datacenter_docs_"


class Scrape:
    """The reads of one scrape: each selector runs at most once, however many families use
    it, and every family sees the same moment ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    @cached_property
    def remediation(self) -> selectors.RemediationCounts:
        return selectors.auto_remediation_counts()

    @cached_property
    def approvals(self) -> selectors.WaitingApprovals:
        return selectors.approvals_waiting()

    @cached_property
    def steps(self) -> selectors.StepCounts:
        return selectors.execution_steps()

    @cached_property
    def daily(self) -> dict[str, float]:
        return selectors.daily_totals()

    @cached_property
    def autonomy(self) -> selectors.Autonomy:
        return selectors.autonomy()

    @cached_property
    def queue(self) -> selectors.QueueState:
        return selectors.task_queue(now=self.now)


Samples = Iterable[tuple[tuple[str, ...], float]]


@dataclass(frozen=True)
class Family:
    """What Prometheus is told about a family (``describe``) and how to read its samples."""

    name: str
    kind: type[GaugeMetricFamily] | type[CounterMetricFamily]
    documentation: str
    labels: tuple[str, ...]
    samples: Callable[[Scrape], Samples]

    def empty(self) -> Metric:
        return self.kind(PREFIX + self.name, self.documentation, labels=list(self.labels))

    def collect(self, scrape: Scrape) -> Metric:
        metric = self.kind(PREFIX + self.name, self.documentation, labels=list(self.labels))
        for label_values, value in self.samples(scrape):
            metric.add_metric(list(label_values), value)
        return metric


@dataclass(frozen=True)
class HistogramFamily:
    """A histogram without labels, read in one go by ``histogram``."""

    name: str
    documentation: str
    histogram: Callable[[Scrape], selectors.Histogram]

    def empty(self) -> Metric:
        return HistogramMetricFamily(PREFIX + self.name, self.documentation, labels=[])

    def collect(self, scrape: Scrape) -> Metric:
        metric = HistogramMetricFamily(PREFIX + self.name, self.documentation, labels=[])
        h = self.histogram(scrape)
        buckets = [(repr(le), float(n)) for le, n in h.buckets] + [("+Inf", float(h.count))]
        metric.add_metric([], buckets, h.sum_seconds)
        return metric


def _age_seconds(since: datetime | None, now: datetime) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


# --- One function per family ---------------------------------------------------------------


def reliability_score(s: Scrape) -> Samples:
    for category, score in selectors.reliability_by_category(now=s.now).items():
        yield (category,), score


def attempts(s: Scrape) -> Samples:
    yield (), s.remediation.attempts


def successes(s: Scrape) -> Samples:
    yield (), s.remediation.successes


def failures(s: Scrape) -> Samples:
    yield (), s.remediation.failures


def autonomy_executions(s: Scrape) -> Samples:
    for who, n in s.autonomy.executions.items():
        yield (who,), n


def false_autonomy(s: Scrape) -> Samples:
    yield (), s.autonomy.false_autonomy


def resolved_by_execution(s: Scrape) -> Samples:
    for who, n in s.autonomy.resolved.items():
        yield (who,), n


def resolve_seconds(s: Scrape) -> Samples:
    for who, seconds in s.autonomy.resolve_seconds.items():
        yield (who,), seconds


def feedback(s: Scrape) -> Samples:
    for kind in ("positive", "negative", "neutral"):
        yield (kind,), int(s.daily[kind])


def _investigation(key: str) -> Callable[[Scrape], Samples]:
    def samples(s: Scrape) -> Samples:
        yield (), s.daily[key]

    return samples


def tickets_in_progress(s: Scrape) -> Samples:
    for status, count in selectors.tickets_in_progress().items():
        yield (status,), count


def approvals_waiting(s: Scrape) -> Samples:
    yield (), s.approvals.count


def executions(s: Scrape) -> Samples:
    yield from sorted(s.steps.actions.items())


def execution_ends(s: Scrape) -> Samples:
    for state, n in selectors.execution_ends().items():
        yield (state,), n


def rollbacks(s: Scrape) -> Samples:
    yield from sorted(s.steps.rollbacks.items())


def executions_unknown(s: Scrape) -> Samples:
    yield (), selectors.executions_unknown_outcome()


def circuit_breakers_open(s: Scrape) -> Samples:
    for pattern, target in selectors.open_circuit_breakers():
        yield (pattern, target), 1


def approval_oldest_waiting(s: Scrape) -> Samples:
    yield (), _age_seconds(s.approvals.oldest_since, s.now)


def eligible_patterns(s: Scrape) -> Samples:
    yield (), selectors.eligible_patterns()


def analysis_failures(s: Scrape) -> Samples:
    yield (), selectors.analysis_failures()


def queue_depth(s: Scrape) -> Samples:
    yield (), s.queue.depth


def queue_oldest_waiting(s: Scrape) -> Samples:
    yield (), _age_seconds(s.queue.oldest_waiting_since, s.now)


G, C = GaugeMetricFamily, CounterMetricFamily

FAMILIES: tuple[Family | HistogramFamily, ...] = (
    Family(
        "investigations",
        C,
        "Investigations run before an analysis (read-only tool calls on the ticket's objects)",
        (),
        _investigation("investigations"),
    ),
    Family(
        "investigations_failed",
        C,
        "Investigations that could not look: the platform did not answer or know the name",
        (),
        _investigation("failed"),
    ),
    Family(
        "investigation_calls",
        C,
        "Read-only tool calls made by investigations",
        (),
        _investigation("calls"),
    ),
    Family(
        "investigation_call_errors",
        C,
        "Read-only tool calls of investigations that failed (refused, timed out, broken)",
        (),
        _investigation("errors"),
    ),
    Family(
        "investigation_seconds",
        C,
        "Seconds spent investigating, in all (divide by investigations for the average)",
        (),
        _investigation("seconds"),
    ),
    Family(
        "reliability_score",
        G,
        f"Average reliability score (0-100) of the tickets scored in the last "
        f"{selectors.RELIABILITY_WINDOW_DAYS} days, by category",
        ("category",),
        reliability_score,
    ),
    Family(
        "auto_remediation_attempts",
        C,
        "Tickets whose remediation actions were executed (automatically or after approval)",
        (),
        attempts,
    ),
    Family(
        "auto_remediation_success",
        C,
        "Executed tickets whose outcome is success: the outcome success rate is success / "
        "(success + failures) (remediation.rules; the stats API and analytics use it too)",
        (),
        successes,
    ),
    Family(
        "auto_remediation_failures",
        C,
        "Executed tickets whose outcome is failure: the run failed, or the fix did not hold",
        (),
        failures,
    ),
    Family(
        "autonomy_executions",
        C,
        "Executions claimed at the choke point, by who decided: unattended (the decision "
        "engine alone) or person (an approval, the admin, a command)",
        ("decided_by",),
        autonomy_executions,
    ),
    Family(
        "false_autonomy",
        C,
        "Unattended executions whose ticket ended in failure: the run failed, or the fix "
        "did not hold (came back within OUTCOME_HOLD_SECONDS)",
        (),
        false_autonomy,
    ),
    Family(
        "resolved_by_execution",
        C,
        "Tickets resolved by an execution, by who decided it (unattended or person)",
        ("decided_by",),
        resolved_by_execution,
    ),
    Family(
        "resolve_seconds",
        C,
        "Seconds from submission to resolution of the tickets resolved by an execution, in "
        "all, by who decided (divide by resolved_by_execution for the average)",
        ("decided_by",),
        resolve_seconds,
    ),
    Family("feedback", C, "Feedback given, by type", ("type",), feedback),
    Family(
        "tickets_in_progress",
        G,
        "Tickets in a status that waits for the system or a person",
        ("status",),
        tickets_in_progress,
    ),
    Family(
        "approvals_waiting",
        G,
        "Approval requests waiting for people",
        (),
        approvals_waiting,
    ),
    Family(
        "approval_oldest_waiting_seconds",
        G,
        "How long the longest-waiting approval request has waited (0 when none waits)",
        (),
        approval_oldest_waiting,
    ),
    HistogramFamily(
        "approval_latency_seconds",
        "Time from an approval request opening to a person's decision (approved or rejected)",
        lambda s: selectors.approval_latency(),
    ),
    Family(
        "executions",
        C,
        "Remediation actions executed through MCP, by catalogue operation and outcome",
        ("operation", "outcome"),
        executions,
    ),
    Family(
        "rollbacks",
        C,
        "Rollback steps run after a failed action, by operation and outcome",
        ("operation", "outcome"),
        rollbacks,
    ),
    Family(
        "execution_ends",
        C,
        "Executions that ended, by state (succeeded, rolled_back, failed, unknown): the "
        "execution success rate is succeeded / (succeeded + rolled_back + failed), the rollback "
        "rate rolled_back over the same (remediation.rules; the stats API and analytics use it "
        "too)",
        ("state",),
        execution_ends,
    ),
    Family(
        "executions_unknown_outcome",
        G,
        "Executions whose outcome is unknown and not yet reconciled by a person",
        (),
        executions_unknown,
    ),
    Family(
        "circuit_breaker_open",
        G,
        "1 for each open circuit breaker (pattern id, target); closed ones are absent",
        ("pattern", "target"),
        circuit_breakers_open,
    ),
    Family(
        "eligible_patterns",
        G,
        "Patterns eligible for auto-remediation (and not switched off)",
        (),
        eligible_patterns,
    ),
    Family(
        "analysis_failures",
        C,
        "Analyses that failed and left their ticket in manual review",
        (),
        analysis_failures,
    ),
    Family(
        "queue_depth",
        G,
        "Background tasks queued or running (not yet acknowledged)",
        (),
        queue_depth,
    ),
    Family(
        "queue_oldest_waiting_seconds",
        G,
        "How long the oldest task no worker has claimed has waited (0 when none waits)",
        (),
        queue_oldest_waiting,
    ),
)


class DatabaseCollector(Collector):
    """Reads ``FAMILIES`` from the database on every scrape."""

    def __init__(self, families: tuple[Family | HistogramFamily, ...] = FAMILIES) -> None:
        self.families = families

    def describe(self) -> Iterable[Metric]:
        # Registering a collector asks for its names; answering from ``describe`` keeps that
        # from touching the database (at start-up, before migrations, in every process).
        return [family.empty() for family in self.families]

    def collect(self) -> Iterable[Metric]:
        scrape = Scrape(timezone.now())
        return [family.collect(scrape) for family in self.families]
