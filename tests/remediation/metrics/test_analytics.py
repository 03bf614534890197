"""Analytics week by week: figures checked against a hand-made history, and one definition
of each number: the analytics API, the page, /metrics and the stats API agree on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from remediation.audit.models import AuditAction, AuditEvent
from remediation.execution.models import ExecutionState, ExecutionVia
from tests.support.metrics import execution_at, scrape, value

URL = "/api/v1/stats/analytics"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _may_read_stats(user):
    user.user_permissions.add(Permission.objects.get(codename="view_pattern_stats"))


@pytest.fixture
def history(db):
    """This week: two unattended runs (one succeeded in 10 min, one rolled back: a false
    autonomy), one run a person approved (succeeded in 30 min), one refused decision.
    Last week: one unattended run that failed."""
    now = timezone.now()
    this_week = now - timedelta(minutes=1)
    if (timezone.localdate(this_week) - timezone.localdate(now)).days:  # just past midnight
        this_week = now
    last_week = now - timedelta(days=7)
    execution_at(1, ExecutionState.SUCCEEDED, ExecutionVia.AUTO, at=this_week, outcome="success")
    execution_at(2, ExecutionState.ROLLED_BACK, ExecutionVia.AUTO, at=this_week, outcome="failure")
    execution_at(
        3,
        ExecutionState.SUCCEEDED,
        ExecutionVia.APPROVAL,
        at=this_week,
        outcome="success",
        minutes=30,
    )
    execution_at(4, ExecutionState.FAILED, ExecutionVia.AUTO, at=last_week, outcome="failure")
    from django.db import transaction

    from remediation.audit.services import audit

    with transaction.atomic():
        audit(AuditAction.DECISION_MADE, "refused", details={"outcome": "rejected"})
        audit(AuditAction.DECISION_MADE, "ran", details={"outcome": "auto_approved"})
    return now


def test_the_weeks_are_the_hand_computed_ones(api, history):
    r = api.get(URL, {"weeks": 2})
    assert r.status_code == 200, r.content
    last, this = r.json()["rows"]
    assert (this["unattended"], this["with_person"], this["refused"]) == (2, 1, 1)
    assert (this["succeeded"], this["rolled_back"], this["ended"]) == (2, 1, 3)
    assert this["execution_success_rate"] == 0.6667 and this["rollback_rate"] == 0.3333
    assert (this["false_autonomy"], this["false_autonomy_rate"]) == (1, 0.5)
    assert this["unattended_share"] == 0.6667
    assert this["resolve_seconds_unattended"] == 600.0
    assert this["resolve_seconds_person"] == 1800.0
    assert (last["unattended"], last["with_person"], last["execution_success_rate"]) == (1, 0, 0.0)
    assert last["false_autonomy"] == 1


def test_one_definition_for_the_api_metrics_and_the_stats_api(api, client, history):
    rows = api.get(URL, {"weeks": 2}).json()["rows"]
    samples = scrape(client)
    for who, key in (("unattended", "unattended"), ("person", "with_person")):
        assert value(samples, "datacenter_docs_autonomy_executions_total", decided_by=who) == sum(
            w[key] for w in rows
        )
    assert value(samples, "datacenter_docs_false_autonomy_total") == sum(
        w["false_autonomy"] for w in rows
    )
    ends = {
        state: value(samples, "datacenter_docs_execution_ends_total", state=state)
        for state in ("succeeded", "rolled_back", "failed", "unknown")
    }
    assert ends["succeeded"] == sum(w["succeeded"] for w in rows)
    assert ends["rolled_back"] == sum(w["rolled_back"] for w in rows)
    # The success rate over both weeks, as /metrics' families give it, is the stats API's.
    stats = api.get("/api/v1/stats/auto-remediation", {"days": 30}).json()
    from_metrics = ends["succeeded"] / (ends["succeeded"] + ends["rolled_back"] + ends["failed"])
    assert stats["execution_success_rate"] == round(from_metrics, 4) == 0.5
    assert stats["executions"] == 4 and stats["succeeded"] == 2


def test_the_page_draws_the_same_numbers(client, user, history):
    client.force_login(user)
    r = client.get("/stats/analytics/", {"weeks": "2"})
    assert r.status_code == 200
    html = r.content.decode()
    for chart in (
        "chart-decided",
        "chart-rates",
        "chart-latency",
        "chart-resolve",
        "chart-patterns",
    ):
        assert f'id="{chart}"' in html
    assert "<rect" in html and "<polyline" in html
    assert '<td data-label="Unattended">2</td>' in html
    assert '<td data-label="Execution success rate">67%</td>' in html


@pytest.mark.parametrize("weeks", ["0", "105", "1e3", "abc", "-1", "2.5", "\x00"])
def test_bad_weeks_are_refused_naming_the_field(api, weeks):
    r = api.get(URL, {"weeks": weeks})
    assert r.status_code == 400 and "weeks" in r.json()["error"]["fields"]


def test_it_needs_the_statistics_permission(client_for, other_user, anon, client):
    assert client_for(other_user).get(URL).status_code == 403
    assert anon.get(URL).status_code == 401
    client.force_login(other_user)
    assert client.get("/stats/analytics/").status_code == 403
    assert not AuditEvent.objects.exists()
