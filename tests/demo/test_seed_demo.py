"""manage.py seed_demo: a labelled history showing eligible and ineligible patterns."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from patterns.models import Pattern
from policies.models import AutoRemediationPolicy
from remediation.tickets.models import Ticket


@pytest.fixture(autouse=True)
def _investigating(investigating):
    """The demo is built as real traffic is: each ticket investigated on the lab."""


def run(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_builds_a_labelled_history_and_a_second_run_does_nothing():
    first = run("--force")
    tickets = Ticket.objects.all()
    assert tickets.exists()
    assert all(t.ticket_id.startswith("DEMO-") and t.source == "demo" for t in tickets)
    assert {t.submitted_by.username for t in tickets} == {"demo"}
    assert Pattern.objects.filter(eligible_for_auto_remediation=True).exists()
    assert Pattern.objects.filter(eligible_for_auto_remediation=False).exists()
    levels = {t.reliability_breakdown["confidence_level"] for t in tickets}
    assert levels == {"very_high", "high", "medium", "low"}, levels
    assert "Created" in first
    # Two executions really ran on the simulated lab: one resolved, one rolled back.
    executed = Ticket.objects.filter(executions__isnull=False).order_by("ticket_id")
    assert [t.status for t in executed] == ["resolved", "partially_remediated"], [
        t.status_reason for t in executed
    ]
    assert all(t.remediation_results["simulated"] for t in executed)

    count = tickets.count()
    second = run("--force")
    assert "nothing to do" in second
    assert Ticket.objects.count() == count


@pytest.mark.django_db
def test_without_force_it_refuses_any_database_but_the_quickstarts_and_adds_nothing(settings):
    # The test database (SQLite beside the configured file, or PostgreSQL) is not the
    # quickstart's var/db.sqlite3: without --force nothing is loaded into it.
    assert connection.settings_dict["NAME"] != str(settings.QUICKSTART_DATABASE)
    with pytest.raises(CommandError, match="--force") as refused:
        run()
    assert str(settings.QUICKSTART_DATABASE) in str(refused.value)
    assert not Ticket.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="demo").exists()
    assert not AutoRemediationPolicy.objects.filter(name__startswith="server-demo").exists()


@pytest.mark.django_db
def test_the_demo_leaves_requests_waiting_in_the_approval_queue():
    from remediation.approvals.models import ApprovalRequest, ApprovalStatus
    from remediation.tickets.models import TicketStatus

    # Health and backups answered by the real lab over MCP, as in `make run`.
    out = run("--force")
    waiting = Ticket.objects.filter(status=TicketStatus.AWAITING_APPROVAL)
    assert sorted(t.affected_system for t in waiting) == ["prod-web-05", "prod-web-06"]
    assert ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).count() == 2
    assert "2 waiting for approval at /approvals/" in out


@pytest.mark.django_db
def test_the_history_spans_weeks_so_the_charts_draw_lines_and_the_trail_stays_whole():
    from remediation.metrics.analytics import weeks

    run("--force")

    rows = weeks(6)
    # Submitted over the past five weeks: every week of it has outcomes to draw.
    drawn = [w for w in rows if w.outcome_succeeded + w.outcome_failed > 0]
    assert len(drawn) >= 4, [(w.start, w.outcome_succeeded, w.outcome_failed) for w in rows]
    created = Ticket.objects.order_by("created_at").values_list("created_at", flat=True)
    assert (created.last() - created.first()).days >= 28
    # Written in date order: the audit trail verifies.
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "Audit trail intact" in out.getvalue()
