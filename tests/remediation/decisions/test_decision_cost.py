"""What deciding one ticket costs does not grow with history: the same queries, and (on
PostgreSQL) the same rows read by each, with 20 as with 200 concluded tickets in the
category; no sequential scan of the big tables. The timing of the same path is
bench/decision.py; these are its deterministic guards."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from remediation.connectors import registry
from remediation.decisions.services import safety_facts_gather, ticket_decide
from remediation.rules import CALIBRATION_BINS
from remediation.scoring.services import score_ticket
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from tests.support.doubles import LabDouble
from tests.support.factories import RESTART_VM, PatternFactory, TicketFactory

pytestmark = pytest.mark.django_db

# The tables that grow with history: no plan may read them from end to end.
BIG_TABLES = ("remediation_ticket", "remediation_auditevent", "feedback_feedback")


def _history(user, category: str, per_bin: int) -> None:
    """``per_bin`` concluded, analyzed tickets in every confidence bin of ``category``."""
    for k in range(CALIBRATION_BINS):
        for i in range(per_bin):
            TicketFactory(
                submitted_by=user,
                category=category,
                analyzer="local",
                confidence_score=(k + 0.5) / CALIBRATION_BINS,
                outcome=TicketOutcome.SUCCESS if i % 3 else TicketOutcome.FAILURE,
            )


def _decide(user, category: str) -> list[str]:
    """Gather the facts, score and decide a new analyzed ticket of ``category`` as the
    analysis task does; the SQL of every query."""
    pattern = PatternFactory(category=category)
    ticket = TicketFactory(
        submitted_by=user,
        category=category,
        status=TicketStatus.ANALYZED,
        analyzer="local",
        auto_remediation_enabled=True,
        resolution="Restart the VM.",
        suggested_actions=[RESTART_VM],
        confidence_score=0.85,
        pattern=pattern,
    )
    with registry.use(LabDouble()), CaptureQueriesContext(connection) as ctx:
        facts = safety_facts_gather(ticket)
        with transaction.atomic():
            locked = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("pattern")
                .get(pk=ticket.pk)
            )
            score_ticket(locked)
            ticket_decide(locked, facts=facts)
    return [q["sql"] for q in ctx.captured_queries]


def _shape(sql: str) -> str:
    """A query without its literal values: what the two runs must share."""
    return re.sub(r"\s+", "", re.sub(r"'[^']*'|\"s\w+_x\w+\"|-?\b\d+(\.\d+)?\b", "?", sql))


def test_the_decision_runs_the_same_queries_with_20_as_with_200_past_tickets(user):
    _history(user, "small", per_bin=2)
    _history(user, "large", per_bin=20)
    small, large = _decide(user, "small"), _decide(user, "large")
    assert len(small) == len(large)
    assert [_shape(q) for q in small] == [_shape(q) for q in large]


def _plan_rows(sql: str) -> int:
    """Rows every node of the executed plan produced (actual rows x loops), summed."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def rows(node: dict) -> int:
        own = int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
        return own + sum(rows(child) for child in node.get("Plans", []))

    return rows(plan[0]["Plan"])


def _seq_scans(sql: str) -> list[str]:
    """The big tables the plan reads end to end, with sequential scans priced out (what
    is left is a scan no index can replace)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = on")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found: list[str] = []

    def walk(node: dict) -> None:
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
            found.append(str(node["Relation Name"]))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _reads(sqls: list[str]) -> list[str]:
    return [q for q in sqls if q.lstrip().upper().startswith("SELECT")]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_on_postgresql_each_read_of_the_decision_reads_as_many_rows_with_200_past_tickets(user):
    _history(user, "small", per_bin=2)
    _history(user, "large", per_bin=20)
    with transaction.atomic():
        small = [_plan_rows(q) for q in _reads(_decide(user, "small"))]
        large = [_plan_rows(q) for q in _reads(_decide(user, "large"))]
    assert small == large


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_on_postgresql_no_query_of_the_decision_scans_a_big_table(user):
    _history(user, "large", per_bin=5)
    with transaction.atomic():
        statements = [
            q
            for q in _decide(user, "large")
            if q.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE"))
        ]
        scans = {q[:160]: s for q in statements if (s := _seq_scans(q))}
    assert scans == {}
