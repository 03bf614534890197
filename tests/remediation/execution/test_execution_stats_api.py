"""GET /api/v1/stats/auto-remediation: rates from tickets and executions in the window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from remediation.execution.models import Execution, ExecutionState
from remediation.tickets.models import TicketStatus
from tests.support.factories import PatternFactory, TicketFactory

URL = "/api/v1/stats/auto-remediation"


def _fields(r):
    return r.json()["error"].get("fields", {})


def ticket(category, *, enabled=True, executed=False, allowed=True, approval=False, **kw):
    return TicketFactory(
        category=category,
        auto_remediation_enabled=enabled,
        auto_remediation_executed=executed,
        remediation_decision={"allowed": allowed, "requires_approval": approval}
        if enabled
        else None,
        **kw,
    )


def execution(t, state, run=1):
    return Execution.objects.create(
        ticket=t,
        run=run,
        key=f"{t.ticket_id}:{run}",
        via="auto",
        state=state,
        category=t.category,
        action_count=1,
    )


@pytest.fixture
def api(teacher_api):
    """A caller holding patterns.view_pattern_stats (operators and approvers do)."""
    return teacher_api


@pytest.fixture
def history(db):
    a = ticket("cache", executed=True, status=TicketStatus.RESOLVED)
    b = ticket("cache", executed=True, approval=True, status=TicketStatus.PARTIALLY_REMEDIATED)
    c = ticket("network", approval=True, status=TicketStatus.MANUAL_REVIEW)
    ticket("network", enabled=False)
    d = ticket("network", executed=True, status=TicketStatus.MANUAL_REVIEW)
    execution(a, ExecutionState.SUCCEEDED)
    execution(b, ExecutionState.ROLLED_BACK)
    execution(d, ExecutionState.UNKNOWN)
    execution(c, ExecutionState.REFUSED)
    old = ticket("cache", executed=True, status=TicketStatus.FAILED)
    old_exec = execution(old, ExecutionState.FAILED)
    Execution.objects.filter(pk=old_exec.pk).update(
        requested_at=timezone.now() - timedelta(days=90)
    )
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=90))
    PatternFactory(
        eligible_for_auto_remediation=True,
        auto_remediation_attempts=4,
        auto_remediation_successes=3,
    )
    PatternFactory(
        eligible_for_auto_remediation=False,
        auto_remediation_attempts=1,
        auto_remediation_successes=0,
    )


@pytest.mark.django_db
class TestStats:
    def test_it_reports_the_execution_metrics_over_the_window(self, api, history):
        body = api.get(URL).json()
        assert body["days"] == 30
        assert body["enabled_tickets"] == 4
        assert body["executed_tickets"] == 3
        assert body["execution_rate"] == 0.75
        assert body["approval_rate"] == 0.5
        assert (body["succeeded"], body["rolled_back"], body["unknown"], body["refused"]) == (
            1,
            1,
            1,
            1,
        )
        assert body["execution_success_rate"] == 0.5  # unknown is neither success nor failure
        assert body["eligible_patterns"] == 1
        assert body["pattern_outcome_success_rate"] == 0.6
        cats = {c["category"]: c for c in body["by_category"]}
        assert cats["cache"]["execution_rate"] == 1.0
        assert cats["network"]["executed_tickets"] == 1

    def test_a_wider_window_takes_in_older_executions(self, api, history):
        body = api.get(URL, {"days": 365}).json()
        assert body["failed"] == 1
        assert body["execution_success_rate"] == round(1 / 3, 4)

    def test_without_data_the_rates_are_null(self, api, db):
        body = api.get(URL).json()
        assert body["execution_rate"] is None
        assert body["execution_success_rate"] is None
        assert body["pattern_outcome_success_rate"] is None


@pytest.mark.django_db
class TestRefusals:
    @pytest.mark.parametrize(
        "days", ["abc", "0", "3651", "-1", "1e3", "30.0", " 30", "3\x000", "9" * 5000, ""]
    )
    def test_it_refuses_a_bad_days_naming_it(self, api, days):
        r = api.get(URL, {"days": days})
        assert r.status_code == 400, r.content
        assert "days" in _fields(r)

    def test_it_refuses_an_unknown_parameter(self, api):
        r = api.get(URL, {"dayz": 7})
        assert r.status_code == 400
        assert "dayz" in _fields(r)

    def test_it_refuses_a_user_without_the_permission(self, client_for, other_user):
        r = client_for(other_user).get(URL)
        assert r.status_code == 403
        assert "view_pattern_stats" in r.json()["error"]["message"]

    def test_it_refuses_anonymous_callers(self, anon):
        r = anon.get(URL)
        assert r.status_code in (401, 403)
        assert "execution_rate" not in r.json()

    def test_it_is_in_the_openapi_document(self, api):
        schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
        operation = schema["paths"]["/api/v1/stats/auto-remediation"]["get"]
        assert [p["name"] for p in operation["parameters"]] == ["days"]
