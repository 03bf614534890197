"""/metrics: the design's metrics, read from the database at scrape time, in a bounded number
of index-backed queries."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.tasks import async_task

from feedback.verdicts.services import FeedbackInput, feedback_submit
from patterns.models import Pattern
from remediation.approvals.models import ApprovalRequest, ApprovalStatus
from remediation.audit.models import AuditEvent
from remediation.execution.models import (
    CircuitBreaker,
    Execution,
    ExecutionState,
    ExecutionStep,
    ExecutionVia,
    StepKind,
    StepState,
)
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from tests.conftest import make_teacher
from tests.support.factories import (
    PatternFactory,
    TicketFactory,
    UserFactory,
    analyzed_ticket,
    move,
)
from tests.support.metrics import SERVICE_DOWN, scrape, value


def executed(submitter, n: int, outcome: str | None, *, category="server") -> Ticket:
    ticket = analyzed_ticket(
        submitter, f"INC-EX-{category}-{n}", category=category, executed=True, **SERVICE_DOWN
    )
    # As the execution service concludes: post-checks passed, or a step failed and rolled back.
    if outcome == TicketOutcome.SUCCESS:
        ticket = move(ticket, TicketStatus.RESOLVED, outcome=outcome, reason="execution result")
    elif outcome == TicketOutcome.FAILURE:
        ticket = move(
            ticket, TicketStatus.PARTIALLY_REMEDIATED, outcome=outcome, reason="execution result"
        )
    return ticket


@pytest.mark.django_db
def test_the_endpoint_is_open_and_starts_at_zero(client):
    samples = scrape(client)
    for name in (
        "datacenter_docs_auto_remediation_attempts_total",
        "datacenter_docs_auto_remediation_success_total",
        "datacenter_docs_auto_remediation_failures_total",
        "datacenter_docs_approvals_waiting",
        "datacenter_docs_approval_oldest_waiting_seconds",
        "datacenter_docs_approval_latency_seconds_count",
        "datacenter_docs_executions_unknown_outcome",
        "datacenter_docs_eligible_patterns",
        "datacenter_docs_analysis_failures_total",
        "datacenter_docs_queue_depth",
        "datacenter_docs_queue_oldest_waiting_seconds",
    ):
        assert value(samples, name) == 0, name
    for kind in ("positive", "negative", "neutral"):
        assert value(samples, "datacenter_docs_feedback_total", type=kind) == 0
    # No scored ticket: no reliability series (no data is not a score of 0).
    assert not [k for k in samples if k[0] == "datacenter_docs_reliability_score"]
    # django-prometheus' own process metrics are still there.
    assert any(k[0].startswith("python_") or k[0].startswith("process_") for k in samples)


@pytest.mark.django_db
def test_attempts_successes_and_failures_count_executed_tickets_by_outcome(
    client, user, restart_runbook
):
    for n in range(3):
        executed(user, n, TicketOutcome.SUCCESS)
    executed(user, 3, TicketOutcome.FAILURE)
    executed(user, 4, None)  # still running, or result unknown: an attempt only
    # Analyzed but never executed: not an attempt, whatever its outcome.
    not_run = analyzed_ticket(user, "INC-NOT-RUN", **SERVICE_DOWN)
    move(not_run, TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS, reason="fixed by hand")

    samples = scrape(client)
    assert value(samples, "datacenter_docs_auto_remediation_attempts_total") == 5
    assert value(samples, "datacenter_docs_auto_remediation_success_total") == 3
    assert value(samples, "datacenter_docs_auto_remediation_failures_total") == 1


@pytest.mark.django_db
def test_feedback_is_counted_by_type(client, user, teacher, other_user, restart_runbook):
    # Feedback from trusted people, the feedback the system learns from (docs/learning.md).
    make_teacher(other_user)
    tickets = [analyzed_ticket(user, f"INC-FB-{n}", **SERVICE_DOWN) for n in range(3)]
    feedback_submit(
        ticket=tickets[0], user=teacher, data=FeedbackInput(feedback_type="positive", rating=5)
    )
    feedback_submit(
        ticket=tickets[0], user=other_user, data=FeedbackInput(feedback_type="positive", rating=4)
    )
    feedback_submit(
        ticket=tickets[1], user=teacher, data=FeedbackInput(feedback_type="negative", rating=1)
    )
    samples = scrape(client)
    assert value(samples, "datacenter_docs_feedback_total", type="positive") == 2
    assert value(samples, "datacenter_docs_feedback_total", type="negative") == 1
    assert value(samples, "datacenter_docs_feedback_total", type="neutral") == 0


@pytest.mark.django_db
def test_reliability_is_the_average_of_each_categorys_recent_scores(client, user, restart_runbook):
    tickets = [
        analyzed_ticket(user, f"INC-R-{n}", category=c, **SERVICE_DOWN)
        for n, c in enumerate(["server", "server", "network"])
    ]
    scores: dict[str, list[float]] = {}
    for t in tickets:
        t.refresh_from_db()
        scores.setdefault(t.category, []).append(t.reliability_score)
    samples = scrape(client)
    for category, values in scores.items():
        assert value(samples, "datacenter_docs_reliability_score", category=category) == (
            pytest.approx(sum(values) / len(values))
        )


def approval(user, n: int, status: str, *, opened_ago: timedelta, decided_after=None):
    """An approval request as the approval service leaves it (rows only: the numbers
    /metrics reads are the request's status and times)."""
    now = timezone.now()
    ticket = cast(Ticket, TicketFactory(submitted_by=user, ticket_id=f"INC-APR-{n}"))
    opened = now - opened_ago
    return ApprovalRequest.objects.create(
        ticket=ticket,
        status=status,
        actions_digest="d" * 64,
        opened_at=opened,
        expires_at=opened + timedelta(days=1),
        decided_at=opened + decided_after if decided_after is not None else None,
    )


@pytest.mark.django_db
def test_approvals_waiting_and_the_age_of_the_oldest(client, user):
    approval(user, 0, ApprovalStatus.PENDING, opened_ago=timedelta(minutes=90))
    approval(user, 1, ApprovalStatus.PENDING, opened_ago=timedelta(minutes=10))
    # Decided or expired requests no longer wait, however old.
    approval(
        user, 2, ApprovalStatus.APPROVED, opened_ago=timedelta(days=3), decided_after=timedelta(1)
    )
    approval(user, 3, ApprovalStatus.EXPIRED, opened_ago=timedelta(days=5))
    samples = scrape(client)
    assert value(samples, "datacenter_docs_approvals_waiting") == 2
    oldest = value(samples, "datacenter_docs_approval_oldest_waiting_seconds")
    # At least the 90 minutes set above (the scrape ran a little later), and not the 10.
    assert 90 * 60 <= oldest < 100 * 60


@pytest.mark.django_db
def test_approval_latency_is_a_histogram_of_decided_requests(client, user):
    day = timedelta(days=2)
    approval(user, 0, ApprovalStatus.APPROVED, opened_ago=day, decided_after=timedelta(seconds=30))
    approval(user, 1, ApprovalStatus.REJECTED, opened_ago=day, decided_after=timedelta(minutes=20))
    approval(user, 2, ApprovalStatus.APPROVED, opened_ago=day, decided_after=timedelta(hours=30))
    # Expired (no person decided) and pending requests are not latencies.
    approval(user, 3, ApprovalStatus.EXPIRED, opened_ago=day, decided_after=timedelta(hours=24))
    approval(user, 4, ApprovalStatus.PENDING, opened_ago=timedelta(minutes=1))
    samples = scrape(client)
    name = "datacenter_docs_approval_latency_seconds"
    assert value(samples, f"{name}_count") == 3
    assert value(samples, f"{name}_sum") == pytest.approx(30 + 20 * 60 + 30 * 3600)
    assert value(samples, f"{name}_bucket", le="60.0") == 1
    assert value(samples, f"{name}_bucket", le="900.0") == 1
    assert value(samples, f"{name}_bucket", le="1800.0") == 2
    assert value(samples, f"{name}_bucket", le="86400.0") == 2
    assert value(samples, f"{name}_bucket", le="+Inf") == 3


def execution(user, n: int, state: str, steps: list[tuple[str, str, str]]) -> Execution:
    """An execution with its steps (kind, operation, state), as the runner records them."""
    ticket = cast(Ticket, TicketFactory(submitted_by=user, ticket_id=f"INC-EXE-{n}"))
    ex = Execution.objects.create(
        ticket=ticket, run=1, key=f"{ticket.pk}:1", state=state, via=ExecutionVia.AUTO
    )
    for i, (kind, operation, step_state) in enumerate(steps):
        ExecutionStep.objects.create(
            execution=ex,
            index=i,
            kind=kind,
            operation=operation,
            platform="vmware",
            target="prod-web-01",
            idempotency_key=f"{ex.key}:{i}:{kind}",
            state=step_state,
            started_at=timezone.now(),
        )
    return ex


@pytest.mark.django_db
def test_autonomy_unattended_vs_a_person_false_autonomy_and_time_to_resolve(client, user):
    """Who decided each claimed execution, the unattended ones whose ticket failed (the run,
    or a fix that did not hold), and the time to resolve by who decided."""
    created = timezone.now() - timedelta(hours=2)

    def run(n, via, state, *, status, outcome, minutes):
        ex = execution(user, n, state, [])
        Execution.objects.filter(pk=ex.pk).update(via=via)
        resolved = created + timedelta(minutes=minutes) if status == "resolved" else None
        Ticket.objects.filter(pk=ex.ticket_id).update(
            created_at=created,
            status=status,
            outcome=outcome,
            auto_remediation_executed=True,
            resolved_at=resolved,
        )

    ok, bad = TicketOutcome.SUCCESS, TicketOutcome.FAILURE
    run(0, ExecutionVia.AUTO, ExecutionState.SUCCEEDED, status="resolved", outcome=ok, minutes=2)
    run(1, ExecutionVia.AUTO, ExecutionState.SUCCEEDED, status="resolved", outcome=ok, minutes=4)
    # Succeeded, then the fix did not hold: a false autonomy.
    run(2, ExecutionVia.AUTO, ExecutionState.SUCCEEDED, status="failed", outcome=bad, minutes=0)
    run(3, ExecutionVia.AUTO, ExecutionState.ROLLED_BACK, status="partially_remediated",
        outcome=bad, minutes=0)  # fmt: skip
    run(4, ExecutionVia.APPROVAL, ExecutionState.SUCCEEDED, status="resolved", outcome=ok,
        minutes=60)  # fmt: skip
    run(
        5,
        ExecutionVia.APPROVAL,
        ExecutionState.REFUSED,
        status="manual_review",
        outcome=TicketOutcome.UNKNOWN,
        minutes=0,
    )  # fmt: skip (refused: nothing claimed)

    samples = scrape(client)
    ex = "datacenter_docs_autonomy_executions_total"
    assert value(samples, ex, decided_by="unattended") == 4
    assert value(samples, ex, decided_by="person") == 1
    assert value(samples, "datacenter_docs_false_autonomy_total") == 2
    done = "datacenter_docs_resolved_by_execution_total"
    assert value(samples, done, decided_by="unattended") == 2
    assert value(samples, done, decided_by="person") == 1
    seconds = "datacenter_docs_resolve_seconds_total"
    assert value(samples, seconds, decided_by="unattended") == pytest.approx(360.0)
    assert value(samples, seconds, decided_by="person") == pytest.approx(3600.0)


@pytest.mark.django_db
def test_executions_rollbacks_unknown_outcomes_and_open_breakers(client, user):
    A, R = StepKind.ACTION, StepKind.ROLLBACK
    execution(user, 0, ExecutionState.SUCCEEDED, [(A, "restart_vm", StepState.SUCCEEDED)])
    execution(user, 1, ExecutionState.SUCCEEDED, [(A, "restart_vm", StepState.SUCCEEDED)])
    execution(
        user,
        2,
        ExecutionState.ROLLED_BACK,
        [
            (A, "scale_deployment", StepState.SUCCEEDED),
            (A, "restart_vm", StepState.FAILED),
            (R, "scale_deployment", StepState.SUCCEEDED),
        ],
    )
    execution(user, 3, ExecutionState.UNKNOWN, [(A, "restart_vm", StepState.UNKNOWN)])
    execution(user, 4, ExecutionState.RUNNING, [(A, "restart_vm", StepState.RUNNING)])
    pattern = cast(Pattern, PatternFactory(category="server"))
    now = timezone.now()
    CircuitBreaker.objects.create(pattern=pattern, target="prod-web-01", reason="x", opened_at=now)
    CircuitBreaker.objects.create(
        pattern=pattern, target="prod-web-02", reason="x", opened_at=now, is_open=False
    )

    samples = scrape(client)
    ex = "datacenter_docs_executions_total"
    assert value(samples, ex, operation="restart_vm", outcome="success") == 2
    assert value(samples, ex, operation="restart_vm", outcome="failure") == 1
    assert value(samples, ex, operation="restart_vm", outcome="unknown") == 1
    assert value(samples, ex, operation="scale_deployment", outcome="success") == 1
    # A step still running has no outcome yet; rollbacks are not counted as executions.
    assert sum(v for k, v in samples.items() if k[0] == ex) == 5
    rb = "datacenter_docs_rollbacks_total"
    assert value(samples, rb, operation="scale_deployment", outcome="success") == 1
    assert sum(v for k, v in samples.items() if k[0] == rb) == 1
    assert value(samples, "datacenter_docs_executions_unknown_outcome") == 1
    breakers = {k: v for k, v in samples.items() if k[0] == "datacenter_docs_circuit_breaker_open"}
    assert breakers == {
        (
            "datacenter_docs_circuit_breaker_open",
            (("pattern", str(pattern.pk)), ("target", "prod-web-01")),
        ): 1
    }


@pytest.mark.django_db
def test_analysis_failures_count_the_failed_analyses(client, api, drain_queue, settings):
    # The Anthropic analyzer without a key fails every analysis (a defined failure).
    settings.AUTO_REMEDIATION_ANALYZER = "anthropic"
    settings.ANTHROPIC_API_KEY = ""
    for n in range(2):
        body = {"ticket_id": f"INC-AF-{n}", "title": "Disk full", "description": "Disk full"}
        assert (
            api.post("/api/v1/tickets", {**body, "category": "storage"}, format="json").status_code
            == 201
        )
    assert value(scrape(client), "datacenter_docs_queue_depth") == 2
    drain_queue()
    samples = scrape(client)
    assert value(samples, "datacenter_docs_analysis_failures_total") == 2
    assert value(samples, "datacenter_docs_queue_depth") == 0


@pytest.mark.django_db
def test_queue_depth_and_the_oldest_unclaimed_task(client):
    async_task("remediation.tasks.analyze_ticket", 0)
    async_task("remediation.tasks.analyze_ticket", 0)
    samples = scrape(client)
    assert value(samples, "datacenter_docs_queue_depth") == 2
    assert value(samples, "datacenter_docs_queue_oldest_waiting_seconds") >= 0


def _scrape_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        scrape(client)
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.django_db
def test_a_scrape_costs_the_same_few_queries_whatever_the_history(
    client, user, other_user, restart_runbook
):
    executed(user, 0, TicketOutcome.SUCCESS)
    small = _scrape_queries(client)
    for n in range(1, 8):
        t = executed(user, n, TicketOutcome.FAILURE if n % 3 else TicketOutcome.SUCCESS)
        feedback_submit(ticket=t, user=other_user, data=FeedbackInput("neutral", rating=3))
    UserFactory.create_batch(3)
    for n in range(3):
        execution(
            other_user, n, ExecutionState.UNKNOWN, [(StepKind.ACTION, "restart_vm", "failed")]
        )
        approval(
            other_user,
            n,
            ApprovalStatus.APPROVED,
            opened_ago=timedelta(hours=n + 1),
            decided_after=timedelta(minutes=n),
        )
    CircuitBreaker.objects.create(
        pattern=cast(Pattern, PatternFactory()), target="t", reason="x", opened_at=timezone.now()
    )
    large = _scrape_queries(client)
    assert len(large) == len(small)
    # One query per selector: rollups (2), executed tickets, in-progress tickets, approvals
    # waiting, approval latency, execution steps, unknown executions, open breakers,
    # eligible patterns, audit, queue, autonomy (executions by who decided), executions by
    # end state.
    assert len(large) <= 14


@pytest.mark.postgres
@pytest.mark.django_db
def test_no_scrape_query_reads_a_whole_history_table(client, user, is_postgres, restart_runbook):
    """With sequential scans priced out, PostgreSQL still plans every query on the big
    tables (tickets, audit, feedback) through an index: the index exists and fits."""
    if not is_postgres:
        pytest.skip("PostgreSQL plans")
    executed(user, 0, TicketOutcome.SUCCESS)
    execution(user, 0, ExecutionState.UNKNOWN, [(StepKind.ACTION, "restart_vm", "failed")])
    queries = _scrape_queries(client)
    big_tables = (
        "remediation_ticket",
        "remediation_auditevent",
        "feedback_feedback",
        "remediation_execution",
        "remediation_executionstep",
        "remediation_approvalrequest",
    )
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for sql in queries:
                cursor.execute(f"EXPLAIN {sql}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
                for table in big_tables:
                    assert f"Seq Scan on {table}" not in plan, f"{sql}\n{plan}"
        finally:
            cursor.execute("SET enable_seqscan = on")
    assert AuditEvent.objects.exists()
