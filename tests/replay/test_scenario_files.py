"""Scenario files a stranger writes: kinds defined inline (ticket or Alertmanager), run from
any path, and a bad file refused with a CommandError naming the field."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lab.engine import CLEARED_BY
from remediation.alerts.models import AlertRecord, AlertStatus
from remediation.tickets.models import Ticket
from replay.kinds import builtin_kinds, incident_stream
from replay.run import load_scenario

TICKET_KIND = {
    "kind": "frozen_guest",
    "count": 2,
    "category": "server",
    "condition": "vm_hung",
    "targets": ["prod-web-01", "prod-web-02"],
    "fix": "restart_vm",
    "titles": ["{t} frozen, VMware tools not running"],
    "bodies": ["The VM {t} hangs since {hh}:{mm}: console frozen, tools not running."],
}
# Sparse alert texts: only alertname and instance labels, a one-line summary.
ALERT_KIND = {
    "kind": "node_down",
    "count": 2,
    "category": "server",
    "condition": "vm_hung",
    "targets": ["prod-web-03"],
    "fix": "restart_vm",
    "alerts": [
        {
            "labels": {"alertname": "InstanceDown", "instance": "{t}:9100"},
            "annotations": {"summary": "{t} is not responding"},
        }
    ],
}


def scenario(**changes):
    data = {
        "name": "stranger",
        "seed": 3,
        "operator_error_rate": 0.0,
        "operator_coverage": 1.0,
        "kinds": [dict(TICKET_KIND), dict(ALERT_KIND)],
        "overrides": {
            "alert_mappings": {"Prometheus target (instance)": {"enable_auto_remediation": True}}
        },
    }
    data.update(changes)
    return data


def write(tmp_path, data, name="stranger.json"):
    path = tmp_path / "elsewhere" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.django_db
def test_a_scenario_file_from_anywhere_with_a_ticket_kind_and_a_sparse_alert_kind(
    tmp_path, investigating
):
    path = write(tmp_path, scenario())
    out = tmp_path / "out"
    call_command(
        "replay_incidents", str(path), "--here", "--mode", "overrides", "--out", str(out), "--quiet"
    )
    data = json.loads((out / "stranger-overrides.json").read_text())
    rows = data["rows"]
    assert sorted(r["kind"] for r in rows) == ["frozen_guest"] * 2 + ["node_down"] * 2
    assert {r["via"] for r in rows if r["kind"] == "node_down"} == {"alert"}
    assert {r["via"] for r in rows if r["kind"] == "frozen_guest"} == {"ticket"}
    assert data["fixes"] == {"frozen_guest": "restart_vm", "node_down": "restart_vm"}
    # The alert kind's incidents came through the Alertmanager webhook: tickets of the
    # alert source, on the target the instance label names (the port stripped).
    alerts = Ticket.objects.filter(
        ticket_id__in=[r["ticket_id"] for r in rows if r["via"] == "alert"]
    )
    assert alerts.count() == 2
    assert {t.source for t in alerts} == {"alertmanager"}
    assert {t.affected_system for t in alerts} == {"prod-web-03"}
    assert {t.title for t in alerts} == {"InstanceDown: prod-web-03 is not responding"}
    # Each alert resolved once the lab showed its condition gone (fixed by the system or by hand).
    assert set(AlertRecord.objects.filter(ticket__in=alerts).values_list("status", flat=True)) == {
        AlertStatus.RESOLVED
    }
    # Every incident ended where an operator gives feedback; the counts add up.
    s = data["summary"]
    assert s["incidents"] == 4 and s["feedback_given"] == 4
    assert s["fixed_by_system"] <= s["executed"]
    assert "alert mapping Prometheus target (instance): enable_auto_remediation=True" in " ".join(
        data["override_notes"]
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fix": "reboot_the_moon"}, r"kinds\[1\]\.fix: unknown operation 'reboot_the_moon'"),
        ({"titles": None, "bodies": None, "alerts": None}, r"kinds\[1\]\.titles: missing"),
        ({"count": 0}, r"kinds\[1\]\.count: must be an integer >= 1"),
        ({"count": "3"}, r"kinds\[1\]\.count"),
        ({"bodies": ["{t} and {nope}"]}, r"kinds\[1\]\.bodies\[0\]: unknown placeholder \{nope\}"),
        ({"targets": []}, r"kinds\[1\]\.targets: must be a non-empty list"),
        (
            {"alerts": [{"labels": {"instance": "{t}"}}]},
            r"kinds\[1\]\.alerts\[0\]\.labels\.alertname",
        ),
        ({"colour": "red"}, r"kinds\[1\]\.colour: unknown field"),
    ],
)
def test_a_bad_file_is_a_command_error_naming_the_field(tmp_path, change, field):
    kind = {**TICKET_KIND, "kind": "other"}
    for key, value in change.items():
        if value is None:
            kind.pop(key, None)
        else:
            kind[key] = value
    path = write(tmp_path, scenario(kinds=[dict(ALERT_KIND), kind]))
    with pytest.raises(CommandError, match=field):
        call_command(
            "replay_incidents", str(path), "--here", "--out", str(tmp_path), "--mode", "defaults"
        )


def test_a_file_that_is_not_json_or_not_there_is_a_command_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("replay_incidents", str(bad), "--here", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("replay_incidents", str(tmp_path / "missing.json"), "--here")
    with pytest.raises(CommandError, match=r"kinds\[0\]\.kind: 'nope' is not a built-in kind"):
        call_command(
            "replay_incidents",
            str(write(tmp_path, scenario(kinds=[{"kind": "nope", "count": 1}]))),
            "--here",
        )


@pytest.mark.django_db
def test_an_unknown_lab_condition_or_target_is_a_command_error_naming_the_field(
    tmp_path, investigating
):
    for change, field in (
        ({"condition": "on_fire"}, r"kinds\[0\]\.condition: unknown lab condition 'on_fire'"),
        ({"targets": ["prod-web-99"]}, r"kinds\[0\]\.targets\[0\]: the lab has no 'prod-web-99'"),
    ):
        path = write(tmp_path, scenario(kinds=[{**TICKET_KIND, **change}]))
        with pytest.raises(CommandError, match=field):
            call_command(
                "replay_incidents",
                str(path),
                "--here",
                "--mode",
                "defaults",
                "--out",
                str(tmp_path / "out"),
                "--quiet",
            )
        assert not Ticket.objects.exists()


def test_the_built_in_kinds_are_data_and_the_shipped_scenarios_check():
    kinds = builtin_kinds()
    assert set(kinds) == {
        "vm_hung",
        "bad_release",
        "stale_counters",
        "instance_hung",
        "volume_full",
        "oom_pod",
        "err_disabled",
    }
    assert kinds["oom_pod"].fix is None and kinds["vm_hung"].fix == "restart_vm"
    # A kind's fix is what the lab says clears the condition it stages, and a kind for a
    # person stages a condition nothing in the catalogue clears: the lab's err-disabled port
    # has no new violations (its trigger stopped), which enabling clears; the OOM-killed
    # pod is the lab's container over its memory limit, not a hung one a restart clears.
    assert kinds["err_disabled"].fix == "enable_port"
    assert kinds["oom_pod"].condition == "oom_killed"
    for kind in kinds.values():
        if kind.fix is None:
            assert kind.condition not in CLEARED_BY, kind.key
        else:
            assert kind.fix in CLEARED_BY[kind.condition], kind.key
    for name in ("tiny", "default", "large"):
        data = load_scenario(name)
        stream = incident_stream(data)
        assert len(stream) == sum(k["count"] for k in data["kinds"])
        assert all(i.title and i.description for i in stream)


def test_a_run_in_its_own_process_says_how_far_it_has_got(tmp_path, monkeypatch):
    """The default way (a child process per run, on its own fresh database) is not silent
    for minutes: the command reports the incidents done as the run goes."""
    from io import StringIO

    from replay.management.commands import replay_incidents

    monkeypatch.setattr(replay_incidents, "PROGRESS_SECONDS", 0.0)
    path = write(tmp_path, scenario())
    stdout = StringIO()
    call_command(
        "replay_incidents",
        str(path),
        "--mode",
        "overrides",
        "--out",
        str(tmp_path / "o"),
        stdout=stdout,
    )
    lines = [line for line in stdout.getvalue().splitlines() if line.endswith("/4 incidents")]
    assert lines, stdout.getvalue()
    assert all(line.startswith("-- stranger, overrides: ") for line in lines)
    assert "report:" in stdout.getvalue()


@pytest.mark.django_db
def test_an_admin_mapping_a_scenario_adds_files_its_alerts_under_its_category():
    """``"add": true`` adds a mapping as an admin would in the admin; without it an unknown
    name is refused, naming the known ones; a bad field is refused, naming it."""
    from remediation.alerts.models import AlertMapping
    from remediation.alerts.rules import map_alert
    from replay.kinds import ScenarioError
    from replay.run import apply_alert_mapping_overrides

    notes = apply_alert_mapping_overrides(
        {
            "SNMP interface (instance + ifName)": {
                "add": True,
                "priority": 25,
                "required_labels": ["instance", "ifName"],
                "system_template": "{instance}",
                "strip_port": True,
                "default_category": "network",
                "enable_auto_remediation": True,
            }
        }
    )
    assert notes and "add" not in notes[0]
    rules = [m.as_rule() for m in AlertMapping.objects.filter(enabled=True).order_by("priority")]
    mapped = map_alert(
        {"alertname": "IfDown", "instance": "core-sw-01:161", "ifName": "Gi0/1"}, rules
    )
    assert (mapped.category, mapped.affected_system) == ("network", "core-sw-01")

    with pytest.raises(ScenarioError, match=r"no mapping 'Nope'.*\"add\": true"):
        apply_alert_mapping_overrides({"Nope": {"priority": 3}})
    with pytest.raises(ScenarioError, match=r"Bad\.colour: unknown field"):
        apply_alert_mapping_overrides({"Bad": {"add": True, "colour": "red"}})
