"""The incident replay end to end on a tiny scenario: real API, worker code, lab over MCP.

Checks the report's invariants, not wall-clock times.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from remediation.connectors.models import PlatformConnector
from remediation.tickets.models import Ticket, TicketStatus
from replay.run import SCENARIOS, load_scenario
from tests.support.factories import TicketFactory


@pytest.mark.django_db
def test_tiny_replay_report_invariants(tmp_path, investigating):
    call_command(
        "replay_incidents",
        "tiny",
        "--here",
        "--mode",
        "overrides",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    data = json.loads((tmp_path / "tiny-overrides.json").read_text())
    s, rows = data["summary"], data["rows"]
    scenario = load_scenario("tiny")

    assert s["incidents"] == len(rows) == sum(k["count"] for k in scenario["kinds"])
    assert Ticket.objects.filter(ticket_id__startswith="RPL-").count() == len(rows)
    # Never a critical action without a person: expand_volume is critical_write.
    assert s["critical_unattended"] == 0
    assert not any(r["unattended"] for r in rows if r["kind"] == "volume_full")
    # An err-disabled port whose trigger stopped (what the lab stages) is enabled, on the
    # staged port, or not at all.
    assert all(r["right_action"] for r in rows if r["kind"] == "err_disabled" and r["executed"])
    # Counts add up.
    assert s["approvals_asked"] == s["approved"] + s["rejected"]
    # Every execution ran alone, or after a person decided: an approver asked, or a reviewer
    # who ran the proposal from the review queue (never counted as unattended).
    assert s["executed"] == s["unattended"] + sum(
        1 for r in rows if (r["asked"] or r["reviewed"] == "ran") and r["executed"]
    )
    assert not any(r["unattended"] for r in rows if r["reviewed"] == "ran")
    assert s["fixed_by_system"] <= s["executed"]
    assert s["wrong_unattended"] <= s["unattended"]
    # Every ticket ended where feedback is taken: the operator rated it, or the reviewer who
    # fixed it by hand recorded it (the operator has nothing to add to that).
    assert s["feedback_given"] + s["review_recorded"] == len(rows)
    assert all(r["feedback"] is None for r in rows if r["reviewed"] == "recorded")
    assert sum(s["statuses"].values()) == len(rows)
    assert sum(p["occurrences"] for p in s["patterns"]) == len(rows)
    # Every approval granted was of the right fix, and it fixed the lab.
    for r in rows:
        if r["approved"]:
            assert r["right_action"] and r["executed"]
    # The hang is one pattern: wording varies, the cause does not. (A hang whose cause the
    # analysis could not establish, the lab showing something else, stays on its words.)
    # A drifted hang (the lab showing memory pressure under the same words) is the observed
    # cause's pattern: the observation wins over the words.
    hung = Ticket.objects.filter(
        ticket_id__in=[f"RPL-{r['seq']:05d}" for r in rows if r["kind"] == "vm_hung"],
        diagnosis__established=True,
        diagnosis__cause="hung",
    ).select_related("pattern")
    assert hung.exists()
    assert {tuple(t.pattern.key_terms) for t in hung} == {
        ("cause:hung", "kind:vm", "operation:restart_vm")
    }
    # A person was asked once reliability allowed it, and the approved restart fixed the VM.
    assert any(r["asked"] and r["fixed_by_system"] for r in rows if r["kind"] == "vm_hung")
    # The simulated clock: each ticket was created at its incident's moment, hours apart.
    created = dict(Ticket.objects.values_list("ticket_id", "created_at"))
    moments = [datetime.fromisoformat(r["at"]) for r in rows]
    assert moments == sorted(moments) and moments[-1] - moments[0] > timedelta(hours=4)
    for r, moment in zip(rows, moments, strict=True):
        if r["status"] != "joined":
            assert abs(created[f"RPL-{r['seq']:05d}"] - moment) < timedelta(minutes=1)
    # The connectors the run pointed at its lab server are put back as they were.
    assert set(PlatformConnector.objects.values_list("transport", flat=True)) == {"stdio"}
    # Each measured fix's re-check ran at the end of its hold time, on the simulated clock
    # (the replay runs due schedules as a qcluster's scheduler does): none is left pending.
    fixed = Ticket.objects.filter(
        ticket_id__startswith="RPL-", auto_remediation_executed=True, status="resolved"
    )
    assert fixed.exists()
    assert all(t.fix_held_at is not None and t.fix_held_at > t.resolved_at for t in fixed)
    # The report checks the predictions: ECE and Brier of the reliability score.
    calibration = s["calibration"]["reliability"]
    assert calibration["count"] > 0 and 0 <= calibration["ece"] <= 1
    assert "calibration over" in (tmp_path / "tiny-report.txt").read_text()
    assert (tmp_path / "tiny.png").stat().st_size > 0
    assert "critical without a person: 0" in (tmp_path / "tiny-report.txt").read_text()


@pytest.mark.django_db
def test_replay_refuses_a_database_with_other_tickets(tmp_path):
    TicketFactory(ticket_id="INC-1")
    with pytest.raises(CommandError, match="not the replay's"):
        call_command(
            "replay_incidents", "tiny", "--here", "--mode", "defaults", "--out", str(tmp_path)
        )
    assert not Ticket.objects.filter(ticket_id__startswith="RPL-").exists()


@pytest.mark.django_db
def test_the_simulated_admin_clears_a_flag_only_where_the_measured_fix_held():
    """The admin reads what staff sees of each flagged ticket, not the lab's truth: a flag
    on a fix that ran and was confirmed to hold is cleared in the admin (the measurement
    outweighs the rating); one on a fix that failed stays; one still within its hold time
    waits for the next round. What it decided is counted against the truth, for the
    report."""
    from replay.run import Replay, Row, _users
    from tests.support.factories import PatternFactory

    held, failed, unconfirmed = (PatternFactory(needs_review=True) for _ in range(3))
    replay = Replay(load_scenario("tiny"), use_overrides=True)
    replay.clients = _users()
    cases = (
        (1, held, TicketStatus.RESOLVED, "success", timezone.now(), True),
        (2, failed, TicketStatus.FAILED, "failure", None, False),
        (3, unconfirmed, TicketStatus.RESOLVED, "success", None, True),
    )
    for seq, pattern, status, outcome, held_at, operator_wrong in cases:
        TicketFactory(
            ticket_id=f"RPL-{seq:05d}",
            pattern=pattern,
            needs_review=True,
            status=status,
            outcome=outcome,
            auto_remediation_executed=True,
            fix_held_at=held_at,
        )
        replay.rows.append(
            Row(
                seq=seq,
                kind="vm_hung",
                occurrence=seq,
                drifted=False,
                fixable=True,
                target="prod-web-01",
                feedback_wrong=operator_wrong,
            )
        )
    replay._admin_review(3)
    for p in (held, failed, unconfirmed):
        p.refresh_from_db()
    assert held.needs_review is False  # cleared through the admin action
    assert failed.needs_review is True
    assert unconfirmed.needs_review is True  # within its hold time: left for later
    assert [(r["pattern_id"], r["cleared"], r["right"]) for r in replay.reviews] == [
        (held.pk, True, True),
        (failed.pk, False, True),
    ]
    # Reviewed once: the next round does not review the same tickets again; the fix that
    # has since been confirmed to hold is cleared then.
    Ticket.objects.filter(ticket_id="RPL-00003").update(fix_held_at=timezone.now())
    replay._admin_review(4)
    unconfirmed.refresh_from_db()
    assert unconfirmed.needs_review is False
    assert [(r["pattern_id"], r["cleared"]) for r in replay.reviews[2:]] == [(unconfirmed.pk, True)]


@pytest.mark.django_db
def test_the_operator_error_rate_is_set_from_the_command_line(tmp_path):
    # Nobody works the review queue, so the operator rates every ticket (a ticket the
    # reviewer recorded is not rated again).
    scenario = json.loads((SCENARIOS / "tiny.json").read_text())
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({**scenario, "reviewer_coverage": 0}))
    call_command(
        "replay_incidents",
        str(path),
        "--here",
        "--mode",
        "overrides",
        "--out",
        str(tmp_path),
        "--quiet",
        "--operator-error-rate",
        "1",
    )
    s = json.loads((tmp_path / "tiny-overrides.json").read_text())["summary"]
    assert s["feedback_given"] > 0 and s["feedback_flipped"] == s["feedback_given"]


@pytest.mark.parametrize("rate", ["-0.1", "1.5", "nan"])
def test_an_error_rate_outside_0_to_1_is_refused(tmp_path, rate):
    with pytest.raises(CommandError, match="operator-error-rate"):
        call_command(
            "replay_incidents",
            "tiny",
            "--here",
            "--out",
            str(tmp_path),
            "--mode",
            "overrides",
            "--operator-error-rate",
            rate,
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("diagnosis", "target", "rates", "approve"),
    [
        ({"established": True, "basis": "observed"}, "prod-web-01", (0, 0), True),
        ({"established": True, "basis": "words"}, "prod-web-01", (0, 0), False),
        ({"established": False, "basis": "none"}, "prod-web-01", (0, 0), False),
        ({"established": True, "basis": "observed"}, "prod-web-02", (0, 0), False),
        # Wrong on purpose, both ways.
        ({"established": True, "basis": "observed"}, "prod-web-01", (0, 1), False),
        ({"established": True, "basis": "words"}, "prod-web-01", (1, 0), True),
    ],
)
def test_the_simulated_approver_decides_from_what_the_api_shows(diagnosis, target, rates, approve):
    from replay.run import Replay, _users

    scenario = load_scenario("tiny")
    scenario["approver_false_approve_rate"], scenario["approver_false_reject_rate"] = rates
    replay = Replay(scenario, use_overrides=True)
    replay.clients = _users()
    TicketFactory(
        ticket_id="RPL-00001",
        affected_system="prod-web-01",
        diagnosis={"cause": "hung", **diagnosis},
        suggested_actions=[
            {
                "action": f"Restart {target}",
                "system": "vmware",
                "operation": "restart_vm",
                "platform": "vmware",
                "params": {"vm_name": target},
                "action_type": "safe_write",
                "rollback": "",
            }
        ],
    )
    decided, digest = replay._approver_decides("RPL-00001")
    assert decided is approve
    assert digest  # the digest of what the approver saw, sent with an approval


def _manual_review_ticket(ticket_id: str, *, basis: str, can_run: bool = True) -> Ticket:
    return TicketFactory(
        ticket_id=ticket_id,
        # A category without a policy: a person's approval suffices, at any hour (the
        # shipped network policy's time window would make the test depend on the clock).
        category="switching",
        affected_system="core-sw-01",
        status=TicketStatus.MANUAL_REVIEW,
        auto_remediation_enabled=can_run,
        diagnosis={"cause": "stale_counters", "established": True, "basis": basis},
        suggested_actions=[
            {
                "action": "Clear the error counters of Gi0/1 on core-sw-01",
                "system": "core-sw-01",
                "operation": "clear_interface_errors",
                "platform": "network",
                "params": {"device": "core-sw-01", "interface": "Gi0/1"},
                "action_type": "safe_write",
                "rollback": "",
            }
        ],
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("basis", "can_run", "rates", "runs"),
    [
        ("observed", True, (0, 0), True),
        ("words", True, (0, 0), False),  # the cause rests on the ticket's words only
        ("observed", False, (0, 0), False),  # the queue says it cannot run (no opt-in)
        ("observed", True, (0, 1), False),  # wrong on purpose: a sound proposal not run
        ("words", True, (1, 0), True),  # wrong on purpose: an unsound one run
    ],
)
def test_the_simulated_reviewer_works_the_queue_from_what_it_shows(basis, can_run, rates, runs):
    """The reviewer finds the ticket in GET /api/v1/reviews, takes it, and runs its proposal
    (POST .../run: back to a person's approval) only when the queue says it can run and the
    ticket, as the API shows it, reads sound; its choice is scored against the truth."""
    from feedback.models import Review
    from remediation.audit.models import AuditAction, AuditEvent
    from replay.run import Replay, Row, _users

    scenario = load_scenario("tiny")
    scenario["approver_false_approve_rate"], scenario["approver_false_reject_rate"] = rates
    replay = Replay(scenario, use_overrides=True)
    replay.clients = _users()
    ticket = _manual_review_ticket("RPL-00001", basis=basis, can_run=can_run)
    row = Row(
        seq=1,
        kind="stale_counters",
        occurrence=1,
        drifted=False,
        fixable=True,
        target="core-sw-01",
        right_action=True,
    )
    assert replay._reviewer_runs(ticket, row) is runs
    ticket.refresh_from_db()
    review = Review.objects.get(ticket=ticket)
    assert review.assignee.username == "replay-reviewer"  # taken, as everyone can see
    ran = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.REVIEW_RUN).exists()
    assert ran is runs
    assert (ticket.status != TicketStatus.MANUAL_REVIEW) is runs
    assert row.reviewed == ("ran" if runs else "")
    assert row.reviewer_wrong is (can_run and not runs)


@pytest.mark.django_db
def test_a_reviewer_coverage_outside_0_to_1_is_refused():
    from replay.kinds import ScenarioError, check_scenario

    scenario = load_scenario("tiny")
    with pytest.raises(ScenarioError, match="reviewer_coverage"):
        check_scenario({**scenario, "reviewer_coverage": 1.5}, default_name="tiny")


def test_the_report_names_a_kind_whose_tickets_were_filed_under_another_category():
    """An alert's category comes from the alert mappings, not from the kind: a stranger's
    file that declares "network" for switch alerts sees, in the report, that its tickets
    were server tickets (and so under the server policy)."""
    from dataclasses import asdict

    from replay.report import summarize, text
    from replay.run import Row

    rows = [
        asdict(
            Row(
                seq=n,
                kind=kind,
                occurrence=n,
                drifted=False,
                fixable=True,
                target="x",
                category=category,
                status="manual_review",
            )
        )
        for n, (kind, category) in enumerate(
            [("uplink", "server"), ("uplink", "server"), ("uplink", "network"), ("vm", "server")],
            1,
        )
    ]
    result = {
        "scenario": "s",
        "overrides": True,
        "override_notes": [],
        "seconds": 1.0,
        "rows": rows,
        "fixes": {"uplink": None, "vm": None},
        "categories": {"uplink": "network", "vm": "server"},
    }
    s = summarize(result)
    assert s["category_mismatches"] == {
        "uplink": {"declared": "network", "filed_as": {"network": 1, "server": 2}}
    }
    assert (
        "kind uplink declares category network, its tickets were filed as network (1), "
        "server (2)" in text(s)
    )


def _incident(kind_key: str, *, target: str, interface: str | None, fix: str | None):
    from dataclasses import replace

    from replay.kinds import Incident, builtin_kinds

    kind = replace(builtin_kinds()[kind_key], fix=fix)
    return Incident(
        seq=1,
        kind=kind,
        occurrence=1,
        target=target,
        interface=interface,
        title="t",
        description="d",
        drifted=False,
        condition=kind.condition,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fix", "proposal_right", "rates", "verdict", "outcome"),
    [
        # The proposal was what the person did by hand: the record concludes it a success.
        ("clear_interface_errors", True, (0, 0), "positive", "success"),
        # They did something else: the proposal was wrong, the record says so.
        ("restart_interface", False, (0, 0), "negative", "failure"),
        # No catalogue operation was the fix, yet one was proposed.
        (None, False, (0, 0), "negative", "failure"),
        # Wrong on purpose, both ways.
        ("clear_interface_errors", True, (0, 1), "negative", "failure"),
        ("restart_interface", False, (1, 0), "positive", "success"),
    ],
)
def test_the_reviewer_records_what_it_did_by_hand(fix, proposal_right, rates, verdict, outcome):
    """A reviewer who could not run the proposal fixes the fault by hand and records, from
    the queue, what it did (trusted feedback through POST /api/v1/feedback): the ticket
    concludes and its pattern learns the outcome, where before the review was only closed
    and the system learned nothing. The operator then has nothing to add to it."""
    from feedback.models import Feedback
    from replay.run import Replay, Row, _users
    from tests.support.factories import PatternFactory

    scenario = load_scenario("tiny")
    scenario["approver_false_approve_rate"], scenario["approver_false_reject_rate"] = rates
    scenario["operator_coverage"] = 1.0
    replay = Replay(scenario, use_overrides=True)
    replay.clients = _users()
    pattern = PatternFactory(category="switching")
    ticket = _manual_review_ticket("RPL-00001", basis="observed")
    Ticket.objects.filter(pk=ticket.pk).update(pattern=pattern)
    ticket.refresh_from_db()
    incident = _incident("stale_counters", target="core-sw-01", interface="Gi0/1", fix=fix)
    row = Row(
        seq=1,
        kind="stale_counters",
        occurrence=1,
        drifted=False,
        fixable=fix is not None,
        target="core-sw-01",
    )
    replay._reviewer_records(ticket, row, incident)
    ticket.refresh_from_db()
    pattern.refresh_from_db()
    record = Feedback.objects.get(ticket=ticket)
    assert record.user.username == "replay-reviewer" and record.trusted
    assert record.feedback_type == verdict
    assert ticket.outcome == outcome
    assert (pattern.success_count, pattern.failure_count) == (
        (1, 0) if outcome == "success" else (0, 1)
    )
    taken = record.actual_actions_taken
    if fix is None:
        assert taken == []  # said in words: nothing in the catalogue
        assert record.actual_resolution
    else:
        assert [(a["operation"], a["system"]) for a in taken] == [(fix, "core-sw-01")]
    assert row.reviewer_recorded == verdict
    assert row.reviewer_record_wrong is ((verdict == "positive") != proposal_right)
    # The operator does not rate a ticket a person already concluded by a record.
    row.feedback = None
    replay._feedback(ticket, row, incident)
    assert row.feedback is None
    assert Feedback.objects.filter(ticket=ticket).count() == 1


def test_the_admin_works_flags_unless_the_scenario_says_otherwise():
    """A team that runs the system has an admin who works the flagged patterns: a scenario
    that does not say how often gets one every ten incidents; 0 still turns it off."""
    from replay.run import DEFAULT_REVIEW_EVERY, Replay

    scenario = load_scenario("tiny")
    scenario.pop("review_every")
    assert Replay(scenario, use_overrides=True).review_every == DEFAULT_REVIEW_EVERY == 10
    assert Replay({**scenario, "review_every": 0}, use_overrides=True).review_every == 0


def test_a_database_url_that_cannot_be_migrated_is_refused_with_what_to_do(tmp_path):
    """--database-url needs an existing, empty database: one that cannot be opened is a
    CommandError naming the cause and the remedy, not a traceback."""
    missing = tmp_path / "no-such-dir" / "replay.sqlite3"
    with pytest.raises(CommandError, match="createdb NAME") as refused:
        call_command(
            "replay_incidents",
            "tiny",
            "--out",
            str(tmp_path / "out"),
            "--mode",
            "overrides",
            "--database-url",
            f"sqlite:///{missing}",
        )
    assert "could not migrate the overrides run's database" in str(refused.value)
