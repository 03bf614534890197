"""The choke point under real concurrency on PostgreSQL: threads with their own database
connections, the real lab over stdio, and the lab's own write log as the witness."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection

from lab.state import LabState
from remediation.execution import tasks
from remediation.execution.models import Execution, ExecutionState
from remediation.execution.services import execution_run
from remediation.tickets.models import Ticket, TicketStatus
from tests.support.execution import action, approved_ticket, lab_policy, lab_writes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency of the choke point is proven on PostgreSQL")


@pytest.fixture
def lab_path(tmp_path, settings, seeded):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    # Ten lab processes start at once on a small machine: give them time to come up.
    settings.MCP_STARTUP_SECONDS = 120
    lab_policy()
    return path


def in_threads(calls: list[Callable[[], str]]) -> list[str]:
    barrier = threading.Barrier(len(calls))
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(call: Callable[[], str]) -> None:
        try:
            barrier.wait(timeout=60)
            outcome = call()
            with lock:
                results.append(outcome)
        except BaseException as exc:  # reported below, with the others
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    return results


def test_fifty_concurrent_runs_of_one_ticket_make_exactly_one_lab_write(lab_path, settings):
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 1000
    ticket = approved_ticket([action("restart_vm", vm="prod-web-01")])
    # 25 direct calls of the choke point and 25 duplicated deliveries of its task.
    calls: list[Callable[[], str]] = [lambda: execution_run(ticket.pk) for _ in range(25)]
    calls += [lambda: tasks.run_execution(ticket.pk) for _ in range(25)]

    results = in_threads(calls)

    assert results.count(ExecutionState.SUCCEEDED) == 1, results
    assert sum(r.startswith("skipped") for r in results) == 49
    assert len(lab_writes(lab_path)) == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def test_fifty_eligible_tickets_under_a_limit_of_ten_make_exactly_ten_writes(lab_path, settings):
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 10
    vms = [f"prod-web-0{n}" for n in range(1, 9)] + ["prod-db-01", "prod-app-01"]
    tickets = [
        approved_ticket([action("snapshot_vm", vm=vms[i % len(vms)], snapshot_name=f"s{i}")])
        for i in range(50)
    ]

    results = in_threads([lambda pk=t.pk: execution_run(pk) for t in tickets])

    # Exactly ten runs pass the hour's budget; the other forty are refused by it.
    refused = [r for r in results if r.startswith("refused")]
    assert len(refused) == 40
    assert all("global limit of 10" in r for r in refused)
    claimed = Execution.objects.exclude(state=ExecutionState.REFUSED)
    assert claimed.count() == 10
    # Ten VMs serve fifty tickets, so two of the ten claimed runs may hit one VM at the
    # same moment; the lab then refuses the second itself ("in flight"). Every claimed run
    # either wrote or was turned away by that guard, and nothing beyond the ten reached it.
    others = claimed.exclude(state=ExecutionState.SUCCEEDED)
    assert all("is in flight on" in e.reason for e in others), [e.reason for e in others]
    succeeded = results.count(ExecutionState.SUCCEEDED)
    assert succeeded >= 1
    assert len(lab_writes(lab_path)) == succeeded <= 10
    assert Ticket.objects.filter(status=TicketStatus.MANUAL_REVIEW).count() == 40


def test_the_kill_switch_flipped_after_the_decision_stops_all_queued_work(lab_path, settings):
    tickets = [approved_ticket([action("restart_vm", vm="prod-web-02")]) for _ in range(20)]
    settings.AUTO_REMEDIATION_ENABLED = False

    results = in_threads([lambda pk=t.pk: tasks.run_execution(pk) for t in tickets])

    assert all("switched off" in r for r in results), results
    assert lab_writes(lab_path) == []
    assert not Execution.objects.exclude(state=ExecutionState.REFUSED).exists()


def test_the_live_switch_flipped_after_the_decision_stops_all_queued_work(lab_path):
    """The pause is read at every claim, from the database: twenty workers racing for
    queued work after it was set write nothing, with no restart and no setting changed."""
    from django.contrib.auth.models import User

    from policies.services import remediation_pause

    tickets = [approved_ticket([action("restart_vm", vm="prod-web-02")]) for _ in range(20)]
    oncall = User.objects.create(username="oncall")
    remediation_pause(category="", reason="hands off", user=oncall)

    results = in_threads([lambda pk=t.pk: tasks.run_execution(pk) for t in tickets])

    assert all("paused for every category by oncall" in r for r in results), results
    assert lab_writes(lab_path) == []
    assert not Execution.objects.exclude(state=ExecutionState.REFUSED).exists()


def test_when_the_audit_record_cannot_be_written_nothing_executes(lab_path, settings):
    tickets = [approved_ticket([action("restart_vm", vm="prod-web-03")]) for _ in range(5)]
    # The outside world breaks: the database refuses the audit record of intent.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION test_refuse_claim_audit() RETURNS trigger AS $$
            BEGIN
              IF NEW.action = 'execution.claimed' THEN RAISE EXCEPTION 'audit disk full'; END IF;
              RETURN NEW;
            END; $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_refuse_claim_audit BEFORE INSERT ON remediation_auditevent
              FOR EACH ROW EXECUTE FUNCTION test_refuse_claim_audit();
            """
        )
    try:
        failures: list[str] = []

        def run(pk: int) -> str:
            try:
                return execution_run(pk)
            except DatabaseError as exc:
                failures.append(str(exc))
                return "error"

        results = in_threads([lambda pk=t.pk: run(pk) for t in tickets])
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TRIGGER test_refuse_claim_audit ON remediation_auditevent;"
                "DROP FUNCTION test_refuse_claim_audit();"
            )
    assert results == ["error"] * 5
    assert all("audit disk full" in f for f in failures)
    assert lab_writes(lab_path) == []
    # The claim rolled back with the audit: still pending, still remediating, for a person
    # (or the sweep) to pick up once the audit trail works again.
    assert set(Execution.objects.values_list("state", flat=True)) == {ExecutionState.PENDING}
    assert set(Ticket.objects.values_list("status", flat=True)) == {TicketStatus.REMEDIATING}
