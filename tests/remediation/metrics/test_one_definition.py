"""One history, every place a rate is shown: the stats API, the analytics API and page,
/metrics (as the dashboard divides it), the patterns API and the Pattern admin give the same
execution success rate and the same outcome success rate, and "no data" is null (API) or
"no data" (pages) everywhere, never 0 %.

The history (category ``server``, tickets through the real intake, analysis and state
machine; executions as the choke point leaves them):

=====  ==========================  =================  ====================================
n      what happened               execution state    ticket outcome
=====  ==========================  =================  ====================================
1      passed, the fix held        succeeded          success (confirmed: ``fix_held``)
2      passed, did not hold        succeeded          failure (``fix_did_not_hold``)
3      passed, still on hold       succeeded          success (not yet confirmed)
4      failed                      failed             failure
5      rolled back                 rolled_back        failure
6      outcome unknown             unknown            unknown (neither, in both rates)
=====  ==========================  =================  ====================================

Execution success = 3 / (3 + 1 + 1) = 0.6, rollback rate 1 / 5 = 0.2; outcome success =
2 / (2 + 3) = 0.4: the run of n=2 passed its post-checks, but the fix did not hold. A
category ``storage`` has a ticket and nothing executed: no data for either rate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from patterns.models import Pattern
from remediation import rules
from remediation.execution.models import Execution, ExecutionState, ExecutionVia
from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from remediation.tickets.outcomes import fix_did_not_hold, fix_held
from tests.support.factories import analyzed_ticket, move
from tests.support.metrics import SERVICE_DOWN, scrape, value

pytestmark = pytest.mark.django_db

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "auto-remediation.json"

EXECUTION_SUCCESS = 0.6
ROLLBACK = 0.2
OUTCOME_SUCCESS = 0.4


@pytest.fixture(autouse=True)
def _may_read_stats(user):
    user.user_permissions.add(Permission.objects.get(codename="view_pattern_stats"))


def _ran(ticket: Ticket, state: str, n: int) -> None:
    now = timezone.now()
    Execution.objects.create(
        ticket=ticket,
        run=1,
        key=f"{ticket.ticket_id}:1",
        state=state,
        via=ExecutionVia.AUTO if n % 2 else ExecutionVia.APPROVAL,
        category=ticket.category,
        pattern=ticket.pattern,
        claimed_at=now,
        finished_at=now,
    )


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


@pytest.fixture
def history(user, restart_runbook):
    def executed(n: int) -> Ticket:
        return analyzed_ticket(user, f"INC-RATE-{n}", executed=True, **SERVICE_DOWN)

    for n in (1, 2, 3):
        ticket = move(
            executed(n), TicketStatus.RESOLVED, outcome=TicketOutcome.SUCCESS, reason="post-checks"
        )
        _ran(ticket, ExecutionState.SUCCEEDED, n)
        with transaction.atomic():
            if n == 1:
                fix_held(_locked(ticket), how="nothing came back")
            elif n == 2:
                fix_did_not_hold(_locked(ticket), why="the alert fired again")
    ticket = move(executed(4), TicketStatus.FAILED, outcome=TicketOutcome.FAILURE, reason="failed")
    _ran(ticket, ExecutionState.FAILED, 4)
    ticket = move(
        executed(5), TicketStatus.PARTIALLY_REMEDIATED, outcome=TicketOutcome.FAILURE, reason="rb"
    )
    _ran(ticket, ExecutionState.ROLLED_BACK, 5)
    ticket = move(executed(6), TicketStatus.MANUAL_REVIEW, reason="outcome unknown")
    _ran(ticket, ExecutionState.UNKNOWN, 6)
    # A category with a ticket and nothing executed: no data.
    analyzed_ticket(user, "INC-RATE-STORAGE", category="storage", **SERVICE_DOWN)
    assert Ticket.objects.get(ticket_id="INC-RATE-2").outcome == TicketOutcome.FAILURE


def _this_week_and_the_last(api) -> tuple[dict, dict]:
    r = api.get("/api/v1/stats/analytics", {"weeks": 2})
    assert r.status_code == 200, r.content
    last, this = r.json()["rows"]
    return last, this


def test_every_place_gives_the_same_two_rates(api, client, admin_client, user, history):
    # The stats API: overall, and the category that has the history.
    stats = api.get("/api/v1/stats/auto-remediation", {"days": 30}).json()
    by_category = {c["category"]: c for c in stats["by_category"]}
    for figures in (stats, by_category["server"]):
        assert (figures["succeeded"], figures["rolled_back"], figures["failed"]) == (3, 1, 1)
        assert figures["unknown"] == 1
        assert figures["execution_success_rate"] == EXECUTION_SUCCESS
        assert (figures["outcome_succeeded"], figures["outcome_failed"]) == (2, 3)
        assert figures["outcome_success_rate"] == OUTCOME_SUCCESS
    assert stats["pattern_outcome_success_rate"] == OUTCOME_SUCCESS

    # The analytics API: this week is the whole history.
    _, this = _this_week_and_the_last(api)
    assert this["execution_success_rate"] == EXECUTION_SUCCESS
    assert this["rollback_rate"] == ROLLBACK
    assert (this["outcome_succeeded"], this["outcome_failed"]) == (2, 3)
    assert this["outcome_success_rate"] == OUTCOME_SUCCESS

    # /metrics, divided as the dashboard's panels divide it (remediation.rules).
    samples = scrape(client)
    ends = {
        state: int(value(samples, "datacenter_docs_execution_ends_total", state=state))
        for state in ("succeeded", "rolled_back", "failed", "unknown")
    }
    assert ends == {"succeeded": 3, "rolled_back": 1, "failed": 1, "unknown": 1}
    assert rules.execution_success_rate(ends["succeeded"], ends["rolled_back"], ends["failed"]) == (
        EXECUTION_SUCCESS
    )
    assert rules.rollback_rate(ends["succeeded"], ends["rolled_back"], ends["failed"]) == ROLLBACK
    outcome_ok = int(value(samples, "datacenter_docs_auto_remediation_success_total"))
    outcome_failed = int(value(samples, "datacenter_docs_auto_remediation_failures_total"))
    assert (outcome_ok, outcome_failed) == (stats["outcome_succeeded"], stats["outcome_failed"])
    assert rules.outcome_success_rate(outcome_ok, outcome_failed) == OUTCOME_SUCCESS
    # Attempts count the unknown run too; it is in neither rate.
    assert value(samples, "datacenter_docs_auto_remediation_attempts_total") == 6

    # The pattern the history belongs to: the same outcome success rate.
    server = Pattern.objects.get(category="server")
    patterns = {p["category"]: p for p in api.get("/api/v1/patterns").json()["results"]}
    assert patterns["server"]["outcome_success_rate"] == OUTCOME_SUCCESS
    assert server.auto_remediation_success_rate == pytest.approx(OUTCOME_SUCCESS)

    # The pages.
    client.force_login(user)
    page = client.get("/stats/analytics/", {"weeks": "2"}).content.decode()
    assert '<td data-label="Execution success rate">60%</td>' in page
    assert '<td data-label="Rollback rate">20%</td>' in page
    assert '<td data-label="Outcome success rate">40%</td>' in page
    admin_page = admin_client.get("/admin/patterns/pattern/").content.decode()
    assert "40%" in admin_page and "Outcome success rate" in admin_page


def test_no_data_is_null_in_the_api_and_no_data_on_the_pages(
    api, client, admin_client, user, history
):
    stats = api.get("/api/v1/stats/auto-remediation", {"days": 30}).json()
    storage = {c["category"]: c for c in stats["by_category"]}["storage"]
    assert storage["executions"] == 0 and storage["outcome_succeeded"] == 0
    for key in ("execution_success_rate", "outcome_success_rate", "execution_rate"):
        assert storage[key] is None, key

    reliability = api.get("/api/v1/stats/reliability", {"days": 30}).json()
    storage = {c["category"]: c for c in reliability["by_category"]}["storage"]
    assert storage["feedback_count"] == 0 and storage["positive_feedback_rate"] is None

    last, _ = _this_week_and_the_last(api)
    for key in ("execution_success_rate", "rollback_rate", "outcome_success_rate"):
        assert last[key] is None, key

    patterns = {p["category"]: p for p in api.get("/api/v1/patterns").json()["results"]}
    for key in (
        "outcome_success_rate",
        "positive_feedback_rate",
        "positive_outcome_rate",
        "shadow_agreement_rate",
    ):
        assert patterns["storage"][key] is None, key

    client.force_login(user)
    page = client.get("/stats/analytics/", {"weeks": "2"}).content.decode()
    last_row = page.split("<tbody>")[1].split("</tr>")[0]
    for label in ("Execution success rate", "Rollback rate", "Outcome success rate"):
        assert f'<td data-label="{label}">no data</td>' in last_row, label
    assert "0%" not in last_row

    admin_page = admin_client.get("/admin/patterns/pattern/").content.decode()
    assert "no data" in admin_page


def test_an_empty_history_is_no_data_everywhere_not_zero(api, client, user):
    stats = api.get("/api/v1/stats/auto-remediation", {"days": 30}).json()
    assert stats["execution_success_rate"] is None
    assert stats["outcome_success_rate"] is None
    assert stats["pattern_outcome_success_rate"] is None
    _, this = _this_week_and_the_last(api)
    assert this["execution_success_rate"] is None and this["outcome_success_rate"] is None
    samples = scrape(client)
    ends = [
        int(value(samples, "datacenter_docs_execution_ends_total", state=s))
        for s in ("succeeded", "rolled_back", "failed")
    ]
    assert rules.execution_success_rate(*ends) is None
    assert (
        rules.outcome_success_rate(
            int(value(samples, "datacenter_docs_auto_remediation_success_total")),
            int(value(samples, "datacenter_docs_auto_remediation_failures_total")),
        )
        is None
    )


def _panels(panels: list[dict]) -> list[dict]:
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(_panels(panel.get("panels", [])))
    return out


def test_the_dashboard_names_each_rate_as_the_api_does_and_shows_no_data():
    panels = _panels(json.loads(DASHBOARD.read_text())["panels"])
    titles = {p["title"]: p for p in panels}
    # No panel says just "success rate": it says which.
    for title in titles:
        if "success" in title.lower():
            assert title.startswith(("Execution success", "Outcome success")), title
    outcome = titles["Outcome success rate (the fix held)"]
    (expr,) = [t["expr"] for t in outcome["targets"]]
    # success / (success + failures): concluded outcomes, not attempts.
    assert "auto_remediation_success_total" in expr and "failures_total" in expr
    assert "attempts_total" not in expr
    execution = titles["Execution success and rollback rates (of concluded executions)"]
    legends = {t["legendFormat"]: t["expr"] for t in execution["targets"]}
    assert 'state="succeeded"' in legends["execution success rate"]
    assert 'state=~"succeeded|rolled_back|failed"' in legends["execution success rate"]
    # Nothing to divide by is no series ("no data"), not a division clamped to 0.
    for panel in panels:
        for target in panel.get("targets", []):
            assert "clamp_min" not in target.get("expr", ""), panel["title"]
        if "rate" in panel["title"].lower():
            assert panel["fieldConfig"]["defaults"]["noValue"] == "no data", panel["title"]


def test_the_hold_time_is_what_separates_the_two_rates(api, history):
    """The run of n=2 passed (an execution success) and its fix did not hold (an outcome
    failure): the two rates differ by exactly that ticket."""
    stats = api.get("/api/v1/stats/auto-remediation", {"days": 30}).json()
    assert stats["execution_success_rate"] - stats["outcome_success_rate"] == pytest.approx(1 / 5)
    did_not_hold = Ticket.objects.get(ticket_id="INC-RATE-2")
    assert did_not_hold.status == TicketStatus.FAILED
    assert did_not_hold.executions.get().state == ExecutionState.SUCCEEDED
