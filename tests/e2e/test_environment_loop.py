"""The loop closed by the environment: real processes from the fault to the measured outcome.

The lab's exporter is scraped every second by Debian's Prometheus, which evaluates the
estate's alerts (deploy/prometheus/estate.yml); Debian's Alertmanager routes them to the
webhook of a live server (``Authorization: Token``, as docs/alerts.md says); a real
``qcluster`` investigates the ticket (the lab's platform tools and the published
prometheus-mcp-server, both over MCP), analyzes and decides it by policy, and executes the
fix on the lab; the series recover, Prometheus resolves the alert, and Alertmanager's
resolved notification is what confirms the fix held (``fix_held_by`` ``alert_resolved``,
audit ``ticket.fix_confirmed_by_alert``). A condition staged again within the hold time
fires the alert again, and the fix is failed.

The rules are a copy made by the test (``fast_rules``): only the alerts under test, each
``for:`` shortened to ``FOR`` and every range window of an expression scaled from minutes
to seconds (``[5m]`` → ``[5s]``, ``[6h]`` → ``[6m]``) so that a recovered series stops
matching within seconds; names, labels, annotations and comparisons are the shipped ones.
Where the policy asks a person (a critical write, a pattern not yet trusted), the test
approves through the API as an approver would, and says so in its timeline.

Each test prints its timeline (alert fired → ticket created → fix executed → alert resolved
→ outcome confirmed, in seconds from the firing) and writes it as JSON under the test's tmp
dir and ``var/e2e-loop/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from lab.state import LabState
from patterns.models import Pattern
from patterns.rules.signature import cause_signature
from policies.models import AutoRemediationPolicy
from policies.seeds import ALL_DAYS
from remediation.accounts.models import ApiToken
from remediation.alerts.models import AlertMapping, AlertRecord
from remediation.audit.models import AuditAction, AuditEvent
from remediation.connectors.models import PlatformConnector
from remediation.execution.models import Execution, ExecutionState, ExecutionStep
from remediation.tickets.models import FixEvidence, Ticket, TicketOutcome, TicketStatus
from tests.e2e.test_alertmanager import ALERTMANAGER, AMTOOL, http, start_alertmanager
from tests.e2e.test_prometheus_mcp import MCP_SERVER, installed_server, prometheus_config
from tests.support.approvals import approver
from tests.support.audit import assert_audit_intact
from tests.support.dbutil import ROOT, start_manage, stop, wait_for
from tests.support.execution import ALL_PLATFORMS, lab_writes, stage
from tests.support.factories import UserFactory
from tests.support.servers import PROMETHEUS, free_port

PROMTOOL = shutil.which("promtool")
ESTATE = ROOT / "deploy" / "prometheus" / "estate.yml"
TIMES_DIR = ROOT / "var" / "e2e-loop"
FOR = "2s"
CATEGORIES = ("server", "kubernetes", "network", "storage")
HOLD_SECONDS = 120  # long enough for a re-fire to land inside it, short for a test

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not PROMETHEUS.exists(),
        reason="needs Debian's prometheus at /usr/bin/prometheus (apt-get install prometheus)",
    ),
    pytest.mark.skipif(
        not (ALERTMANAGER and AMTOOL),
        reason="needs Debian's prometheus-alertmanager (apt-get install prometheus-alertmanager)",
    ),
]

AM_CONFIG = """
global:
  resolve_timeout: 5s
route:
  receiver: auto-remediation
  group_by: ["..."]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: auto-remediation
    webhook_configs:
      - url: "http://127.0.0.1:{port}/api/v1/alerts/alertmanager"
        send_resolved: true
        max_alerts: 100
        http_config:
          authorization:
            type: Token
            credentials: "{token}"
"""


def fast_rules(tmp_path: Path, wanted: dict[str, str]) -> Path:
    """A copy of the estate's rules for a fast loop: the alerts named in ``wanted`` (alert →
    severity), ``for:`` set to ``FOR``, range windows scaled from minutes to seconds."""

    def scaled(match: re.Match[str]) -> str:
        return f"[{match.group(1)}{'s' if match.group(2) == 'm' else 'm'}]"

    groups = []
    for group in yaml.safe_load(ESTATE.read_text())["groups"]:
        rules = []
        for rule in group["rules"]:
            if wanted.get(rule.get("alert", "")) != rule.get("labels", {}).get("severity"):
                continue
            rule = {**rule, "for": FOR}
            rule["expr"] = re.sub(r"\[(\d+)([mh])\]", scaled, rule["expr"])
            rules.append(rule)
        if rules:
            groups.append({"name": group["name"], "rules": rules})
    assert len([r for g in groups for r in g["rules"]]) == len(wanted), (wanted, groups)
    path = tmp_path / "estate-fast.yml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    if PROMTOOL:
        checked = subprocess.run(
            [PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    return path


class Watch(threading.Thread):
    """Polls Prometheus' own view of its alerts: when each one (by its labels) was first
    seen firing, and when it stopped firing after that."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.firing: dict[frozenset, float] = {}
        self.gone: dict[frozenset, float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            status, raw = http(f"{self.url}/api/v1/alerts")
            if status != 200:
                continue
            now = time.time()
            active = {
                frozenset(a["labels"].items())
                for a in json.loads(raw)["data"]["alerts"]
                if a["state"] == "firing"
            }
            for key in active:
                if key not in self.firing or key in self.gone:
                    self.firing.setdefault(key, now)
                    self.gone.pop(key, None)
            for key in set(self.firing) - active:
                self.gone.setdefault(key, now)

    def first(self, match: Callable[[dict[str, str]], bool]) -> tuple[float | None, float | None]:
        for key, at in sorted(self.firing.items(), key=lambda kv: kv[1]):
            if match(dict(key)):
                return at, self.gone.get(key)
        return None, None


@dataclass
class Loop:
    tmp_path: Path
    state: Path
    prometheus: str
    watch: Watch
    approver: APIClient
    logs: dict[str, Path] = field(default_factory=dict)

    def tail(self) -> str:
        parts = []
        for name, path in self.logs.items():
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-2500:]}")
        return "\n".join(parts)

    def alert_ticket(self, alertname: str, match: Callable[[dict[str, str]], bool], *, after=0):
        """The ticket the first matching firing (starting after ``after``) became."""

        def found():
            for record in AlertRecord.objects.filter(ticket__isnull=False).order_by("starts_at"):
                labels = record.labels
                fresh = record.starts_at.timestamp() > after
                if fresh and labels.get("alertname") == alertname and match(labels):
                    return record
            return None

        record = wait_for(found, 90, 0.25)
        assert record is not None, f"no ticket from {alertname}\n{self.tail()}"
        return record

    def settled(self, ticket: Ticket, timeout: float = 120) -> Ticket:
        """The ticket once the worker's analysis and decision are done."""

        def done():
            t = Ticket.objects.get(pk=ticket.pk)
            return t if t.status != TicketStatus.PROCESSING else None

        settled = wait_for(done, timeout, 0.25)
        assert settled is not None, f"{ticket.ticket_id} still processing\n{self.tail()}"
        return settled

    def approve_if_asked(self, ticket: Ticket) -> bool:
        """Where the policy asks a person, approve as one would (the API)."""
        if ticket.status != TicketStatus.AWAITING_APPROVAL:
            return False
        r = self.approver.post(
            f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
            {"approve": True, "comment": "e2e: the proposal matches the alert"},
            format="json",
        )
        assert r.status_code == 200, r.json()
        return True

    def fixed(self, ticket: Ticket, timeout: float = 120) -> Ticket:
        def done():
            t = Ticket.objects.get(pk=ticket.pk)
            return t if t.status not in (TicketStatus.REMEDIATING,) else None

        fixed = wait_for(done, timeout, 0.25)
        assert fixed is not None, f"{ticket.ticket_id} still remediating\n{self.tail()}"
        assert (fixed.status, fixed.outcome) == (TicketStatus.RESOLVED, TicketOutcome.SUCCESS), (
            fixed.status,
            fixed.status_reason,
            self.tail(),
        )
        return fixed

    def confirmed(self, ticket: Ticket, timeout: float = 90) -> Ticket:
        def done():
            t = Ticket.objects.get(pk=ticket.pk)
            return t if t.fix_held_by == FixEvidence.ALERT_RESOLVED else None

        confirmed = wait_for(done, timeout, 0.25)
        assert confirmed is not None, f"{ticket.ticket_id} not confirmed\n{self.tail()}"
        return confirmed


@pytest.fixture
def loop(seeded, tmp_path, settings, is_postgres) -> Iterator[Callable[..., Loop]]:
    """Start the whole environment for the alerts given (alert → severity)."""
    if not is_postgres:
        # A minute of real processes per test: once per CI run is enough, and production
        # runs on PostgreSQL (the SQLite pass already drives the same services in-process).
        pytest.skip("the environment loop runs in the PostgreSQL pass")
    processes: list[subprocess.Popen] = []
    watches: list[Watch] = []

    def start(wanted: dict[str, str]) -> Loop:
        command = installed_server() if not MCP_SERVER.exists() else MCP_SERVER
        state = Path(settings.LAB_STATE_PATH)
        LabState(state).reset()
        alertmanager = UserFactory(username="alertmanager")
        _, token = ApiToken.objects.create(user=alertmanager, name="alertmanager")
        # The integration opts its alerts in (off in every seeded rule), and each platform's
        # category has a policy that allows the catalogue's writes on the lab.
        AlertMapping.objects.update(enable_auto_remediation=True)
        for category in CATEGORIES:
            AutoRemediationPolicy.objects.update_or_create(
                category=category,
                defaults={
                    "name": f"{category}-loop",
                    "allowed_action_types": ["safe_write", "critical_write"],
                    "allowed_systems": ALL_PLATFORMS,
                    "forbidden_commands": [],
                    "auto_approve_threshold": 50.0,
                    "max_actions_per_hour": 100,
                    # A new install has no history: its reliability scores are low, and a
                    # person approving is what this policy asks for then.
                    "min_confidence_score": 0.5,
                    "min_reliability_score": 20.0,
                    # Any hour: the test runs whenever CI does.
                    "allowed_hours_start": 0,
                    "allowed_hours_end": 0,
                    "allowed_days": list(ALL_DAYS),
                },
            )
        person = approver("oncall")
        client = APIClient()
        _, key = ApiToken.objects.create(user=person, name="oncall")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        ports = {name: free_port() for name in ("app", "am", "prom", "exporter")}
        logs = {name: tmp_path / f"{name}.log" for name in ("server", "qcluster", "am", "prom")}
        logs["exporter"] = tmp_path / "exporter.log"
        logs["mcp"] = Path(settings.MCP_STDERR_LOG)
        prom_url = f"http://127.0.0.1:{ports['prom']}"
        PlatformConnector.objects.filter(platform="prometheus").update(
            command=str(command),
            env={"PROMETHEUS_URL": prom_url, "PROMETHEUS_DISABLE_LINKS": "true",
                 "PROMETHEUS_REQUEST_TIMEOUT": "10"},
            timeout_seconds=20,
            enabled=True,
        )  # fmt: skip
        child = {
            "OUTCOME_HOLD_SECONDS": str(HOLD_SECONDS),
            "INVESTIGATION_ENABLED": "true",
            "INVESTIGATION_MAX_SECONDS": "60",
            "Q_WORKERS": "2",
        }
        processes.append(
            start_manage(
                "runserver", f"127.0.0.1:{ports['app']}", "--noreload", log=logs["server"], **child
            )
        )
        processes.append(start_manage("qcluster", log=logs["qcluster"], **child))
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "lab", "exporter", "--port", str(ports["exporter"])],
                cwd=ROOT,
                env={**os.environ, "LAB_STATE_PATH": str(state)},
                stdout=logs["exporter"].open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        config_path = prometheus_config(tmp_path, f"127.0.0.1:{ports['exporter']}")
        config = yaml.safe_load(config_path.read_text())
        config["rule_files"] = [str(fast_rules(tmp_path, wanted))]
        config["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{ports['am']}"]}]}]
        }
        config_path.write_text(yaml.safe_dump(config))
        processes.append(
            subprocess.Popen(
                [str(PROMETHEUS), f"--config.file={config_path}",
                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{ports['prom']}",
                 "--rules.alert.resend-delay=1s"],
                stdout=logs["prom"].open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )  # fmt: skip
        processes.append(
            start_alertmanager(
                tmp_path, port=ports["am"], app_port=ports["app"], token=token, template=AM_CONFIG
            )
        )
        logs["am"] = tmp_path / "alertmanager.log"
        env = Loop(tmp_path, state, prom_url, Watch(prom_url), client, logs)
        ready = {
            "server": f"http://127.0.0.1:{ports['app']}/healthz",
            "am": f"http://127.0.0.1:{ports['am']}/-/ready",
            "prom": f"{prom_url}/-/ready",
        }
        for name, url in ready.items():
            assert wait_for(lambda url=url: http(url)[0] == 200, 90, 0.25), f"{name}\n{env.tail()}"
        # The exporter scraped: the lab's series are in Prometheus.
        assert wait_for(
            lambda: (
                b'"value"' in http(f"{prom_url}/api/v1/query?query=up%7Bjob%3D%22snmp%22%7D")[1]
            ),
            60,
            0.25,
        ), env.tail()
        env.watch.start()
        watches.append(env.watch)
        return env

    try:
        yield start
    finally:
        for watch in watches:
            watch.stopped.set()
        for proc in reversed(processes):
            stop(proc)


def earned_pattern(category: str, *, cause: str, kind: str, operation: str) -> Pattern:
    """The pattern a diagnosis of ``cause`` will be filed under, with the history that makes
    it trusted (as if it had been fixed 20 times and held each time)."""
    signature = cause_signature(category, cause=cause, kind=kind, operation=operation)
    return Pattern.objects.create(
        hash=signature.hash,
        category=category,
        key_terms=list(signature.key_terms),
        signature=signature.text[:500],
        occurrence_count=20,
        success_count=20,
        positive_feedback_count=20,
        positive_feedback_rate=1.0,
        confidence_sum=19.0,
        avg_confidence_score=0.95,
        reliability_sum=20 * 95.0,
        reliability_count=20,
        avg_reliability_score=95.0,
        auto_remediation_attempts=20,
        auto_remediation_successes=20,
        auto_remediation_success_rate=1.0,
        eligible_for_auto_remediation=True,
    )


def timeline(env: Loop, name: str, record: AlertRecord, ticket: Ticket, *, approved: bool,
             match: Callable[[dict[str, str]], bool]) -> dict[str, Any]:  # fmt: skip
    """Seconds from the alert firing (Prometheus' own state) to each step; printed and
    written as JSON."""
    fired, gone = env.watch.first(match)
    record.refresh_from_db()
    execution = Execution.objects.filter(ticket=ticket, state=ExecutionState.SUCCEEDED).first()
    write = ExecutionStep.objects.filter(execution=execution).order_by("started_at").first()
    approval = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.APPROVAL_GRANTED).first()

    def at(value: datetime | float | None) -> float | None:
        if value is None or fired is None:
            return None
        stamp = value.timestamp() if isinstance(value, datetime) else value
        return round(stamp - fired, 2)

    times = {
        "test": name,
        "alert": record.labels.get("alertname"),
        "ticket": ticket.ticket_id,
        "approved_by_a_person": approved,
        "fired_at": fired,
        "seconds_from_firing": {
            "ticket_created": at(ticket.created_at),
            "analyzed": at(ticket.analyzed_at),
            "approved": at(approval.created_at if approval else None),
            "fix_executed": at(write.finished_at if write else None),
            "execution_finished": at(execution.finished_at if execution else None),
            "alert_resolved_prometheus": at(gone),
            "alert_resolved_ends_at": at(record.ends_at),
            "resolution_received": at(record.resolved_at),
            "outcome_confirmed": at(ticket.fix_held_at),
        },
    }
    calls = (ticket.investigation or {}).get("calls", [])
    times["investigation"] = {
        "status": (ticket.investigation or {}).get("status"),
        "calls": [f"{c.get('connector')}:{c.get('tool')}:{c.get('ms')}ms" for c in calls],
    }
    times["decision"] = (ticket.remediation_decision or {}).get("reasoning")
    times["pattern"] = ticket.pattern.signature if ticket.pattern else None
    text = json.dumps(times, indent=2)
    print(f"\n{name}: {text}")
    (env.tmp_path / "loop-times.json").write_text(text)
    TIMES_DIR.mkdir(parents=True, exist_ok=True)
    (TIMES_DIR / f"{name}.json").write_text(text)
    return times


def closes(env: Loop, name: str, alertname: str, match, *, operation: str) -> dict[str, Any]:
    """Fired → ticket → decided (approved if asked) → executed → resolved → confirmed."""
    record = env.alert_ticket(alertname, match)
    ticket = env.settled(record.ticket)
    assert ticket.investigation and ticket.investigation["status"] in ("complete", "partial")
    tools = {c["tool"] for c in ticket.investigation["calls"]}
    assert "execute_query" in tools, tools  # the Prometheus MCP server was asked
    assert tools - {"execute_query"}, tools  # and the lab's platform tools
    assert [a["operation"] for a in ticket.suggested_actions] == [operation], (
        ticket.status,
        ticket.status_reason,
        ticket.diagnosis,
    )
    approved = env.approve_if_asked(ticket)
    ticket = env.fixed(ticket)
    writes = [w["tool"] for w in lab_writes(env.state)]
    assert writes == [operation], writes
    ticket = env.confirmed(ticket)
    event = AuditEvent.objects.get(ticket=ticket, action=AuditAction.FIX_CONFIRMED_BY_ALERT)
    assert event.details["evidence"] == "alert_resolved"
    assert event.details["alertname"] == alertname
    times = timeline(env, name, record, ticket, approved=approved, match=match)
    steps = times["seconds_from_firing"]
    assert steps["ticket_created"] <= steps["fix_executed"] <= steps["outcome_confirmed"], times
    assert_audit_intact()
    return times


def test_a_hung_vm_is_restarted_and_instance_down_resolving_confirms_it(loop):
    env = loop({"InstanceDown": "critical"})
    earned_pattern("server", cause="hung", kind="vm", operation="restart_vm")
    stage(env.state, condition=("prod-web-02", "vm_hung"))

    def match(labels):
        return labels.get("instance") == "prod-web-02:9100"

    closes(env, "hung_vm_instance_down", "InstanceDown", match, operation="restart_vm")


def test_a_pod_crash_looping_from_a_bad_release_is_rolled_back(loop):
    env = loop({"KubePodCrashLooping": "warning"})
    stage(env.state, condition=("default/api", "bad_release"))

    def match(labels):
        return labels.get("pod") == "api-3f2a"

    closes(env, "bad_release_rollback", "KubePodCrashLooping", match,
           operation="rollback_deployment")  # fmt: skip


def test_what_no_write_fixes_is_left_to_a_person(loop):
    """A pod crash-looping from OOM is never restarted nor rolled back (the catalogue has no
    write that raises a container's limit: a person's change); errors rising on an interface
    are the physical layer, and clearing the counters would only hide them."""
    env = loop({"KubePodCrashLooping": "warning", "InterfaceErrorsHigh": "warning"})
    stage(env.state, condition=("default/web-7d9f", "oom_killed"))
    # A failing optic: errors keep rising (stale counters, the lab's "interface_errors",
    # do not grow and are cleared by a write).
    stage(env.state, condition=("core-sw-01", "physical_fault", "Gi0/1"))

    def oom(labels):
        return labels.get("pod") == "web-7d9f"

    def link(labels):
        return labels.get("instance") == "core-sw-01" and labels.get("ifName") == "Gi0/1"

    cases = {
        "oom": ("KubePodCrashLooping", oom, "oom_killed", "memory"),
        "physical_fault": ("InterfaceErrorsHigh", link, "physical_layer", "cable"),
    }
    times: dict[str, Any] = {"test": "left_to_a_person"}
    for case, (alertname, match, cause, words) in cases.items():
        record = env.alert_ticket(alertname, match)
        ticket = env.settled(record.ticket)
        assert ticket.diagnosis["cause"] == cause, ticket.diagnosis
        assert not ticket.suggested_actions, ticket.suggested_actions
        assert ticket.status == TicketStatus.MANUAL_REVIEW, ticket.status_reason
        assert words in ticket.resolution.lower(), ticket.resolution
        assert ticket.auto_remediation_executed is False
        # Nothing fixed it: the environment keeps the alert firing and confirms nothing.
        assert AlertRecord.objects.get(pk=record.pk).status == "firing"
        assert ticket.fix_held_at is None
        fired, _ = env.watch.first(match)
        times[case] = {
            "alert": alertname,
            "ticket": ticket.ticket_id,
            "status": ticket.status,
            "seconds_from_firing": {
                "ticket_created": round(ticket.created_at.timestamp() - fired, 2),
                "analyzed": round(ticket.analyzed_at.timestamp() - fired, 2),
            },
        }
    assert not lab_writes(env.state)
    text = json.dumps(times, indent=2)
    print(f"\nleft_to_a_person: {text}")
    TIMES_DIR.mkdir(parents=True, exist_ok=True)
    (TIMES_DIR / "left_to_a_person.json").write_text(text)


def test_a_volume_filling_up_is_expanded(loop):
    env = loop({"KubePersistentVolumeFillingUp": "critical"})
    stage(env.state, condition=("vol-data-02", "volume_full"))

    def match(labels):
        return labels.get("persistentvolumeclaim") == "vol-data-02"

    closes(env, "volume_expand", "KubePersistentVolumeFillingUp", match,
           operation="expand_volume")  # fmt: skip


def test_an_err_disabled_port_is_enabled_and_interface_down_resolving_confirms_it(loop):
    env = loop({"InterfaceDown": "warning"})
    stage(env.state, condition=("core-sw-02", "err_disabled", "Gi0/2"))

    def match(labels):
        return labels.get("instance") == "core-sw-02" and labels.get("ifName") == "Gi0/2"

    closes(env, "err_disabled_enable_port", "InterfaceDown", match, operation="enable_port")


def test_a_fix_whose_alert_fires_again_within_the_hold_time_is_failed(loop):
    env = loop({"InstanceDown": "critical"})
    pattern = earned_pattern("server", cause="hung", kind="vm", operation="restart_vm")
    stage(env.state, condition=("prod-web-03", "vm_hung"))

    def match(labels):
        return labels.get("instance") == "prod-web-03:9100"

    first = closes(env, "refire_first_fix", "InstanceDown", match, operation="restart_vm")
    ticket = Ticket.objects.get(ticket_id=first["ticket"])
    pattern.refresh_from_db()
    before = (pattern.success_count, pattern.failure_count)

    # It hangs again within the hold time: the same alert fires anew.
    restaged = time.time()
    stage(env.state, condition=("prod-web-03", "vm_hung"))

    def failed():
        t = Ticket.objects.get(pk=ticket.pk)
        return t if t.status == TicketStatus.FAILED else None

    refuted = wait_for(failed, 90, 0.25)
    assert refuted is not None, env.tail()
    assert refuted.outcome == TicketOutcome.FAILURE
    assert refuted.fix_held_at is None and refuted.fix_held_by == ""
    assert "The fix did not hold" in refuted.status_reason
    event = AuditEvent.objects.get(ticket=ticket, action=AuditAction.FIX_DID_NOT_HOLD)
    assert event.details["refutes"] == "alert_resolved"
    pattern.refresh_from_db()
    assert (pattern.success_count, pattern.failure_count) == (before[0] - 1, before[1] + 1)
    # The new firing, not the first: on a quick machine the first one can have started
    # less than the clock's slack before the restaging.
    first_started = (
        AlertRecord.objects.filter(ticket=ticket).order_by("starts_at").first().starts_at
    )
    again = env.alert_ticket(
        "InstanceDown", match, after=max(restaged - 5, first_started.timestamp())
    )
    assert again.ticket_id != ticket.pk
    times = {
        **first,
        "test": "refire_within_hold",
        "refire": {
            "restaged_to_failed": round(refuted.updated_at.timestamp() - restaged, 2),
            "new_firing_ticket": again.ticket.ticket_id,
        },
    }
    text = json.dumps(times, indent=2)
    print(f"\nrefire_within_hold: {text}")
    (TIMES_DIR / "refire_within_hold.json").write_text(text)
    assert_audit_intact()
