"""The incident replay end to end on a tiny scenario: real API, worker code, lab over MCP.

Checks the report's invariants, not wall-clock times.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from feedback.replay.run import load_scenario
from remediation.connectors.models import PlatformConnector
from remediation.tickets.models import Ticket
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
    # A kind no catalogue action fixes is never executed.
    assert not any(r["executed"] for r in rows if r["kind"] == "err_disabled")
    # Counts add up.
    assert s["approvals_asked"] == s["approved"] + s["rejected"]
    assert s["executed"] == s["unattended"] + sum(1 for r in rows if r["asked"] and r["executed"])
    assert s["fixed_by_system"] <= s["executed"]
    assert s["wrong_unattended"] <= s["unattended"]
    assert s["feedback_given"] == len(rows)  # every ticket ended where feedback is taken
    assert sum(s["statuses"].values()) == len(rows)
    assert sum(p["occurrences"] for p in s["patterns"]) == len(rows)
    # Every approval granted was of the right fix, and it fixed the lab.
    for r in rows:
        if r["approved"]:
            assert r["right_action"] and r["executed"]
    # The hang is one pattern: wording varies, the cause does not. (A hang whose cause the
    # analysis could not establish, the lab showing something else, stays on its words.)
    hung = Ticket.objects.filter(
        ticket_id__in=[f"RPL-{r['seq']:05d}" for r in rows if r["kind"] == "vm_hung"],
        diagnosis__established=True,
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
def test_the_simulated_admin_clears_only_flags_an_operator_mistake_raised():
    """A flag from a wrong verdict is cleared in the admin; one from a real failure stays."""
    from feedback.replay.run import Replay, Row, _users
    from tests.support.factories import PatternFactory

    mistaken, real = PatternFactory(needs_review=True), PatternFactory(needs_review=True)
    replay = Replay(load_scenario("tiny"), use_overrides=True)
    replay.clients = _users()
    for seq, pattern, wrong in ((1, mistaken, True), (2, real, False)):
        TicketFactory(ticket_id=f"RPL-{seq:05d}", pattern=pattern, needs_review=True)
        replay.rows.append(
            Row(
                seq=seq,
                kind="vm_hung",
                occurrence=seq,
                drifted=not wrong,
                fixable=wrong,
                target="prod-web-01",
                feedback_wrong=wrong,
            )
        )
    replay._admin_review(2)
    mistaken.refresh_from_db()
    real.refresh_from_db()
    assert mistaken.needs_review is False  # cleared through the admin action
    assert real.needs_review is True
    assert [(r["pattern_id"], r["cleared"]) for r in replay.reviews] == [
        (mistaken.pk, True),
        (real.pk, False),
    ]
    # Reviewed once: the next round does not review the same tickets again.
    replay._admin_review(3)
    assert len(replay.reviews) == 2


@pytest.mark.django_db
def test_the_operator_error_rate_is_set_from_the_command_line(tmp_path):
    call_command(
        "replay_incidents",
        "tiny",
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
    from feedback.replay.run import Replay, _users

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
