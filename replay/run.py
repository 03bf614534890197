"""The incident replay: stage each incident in the lab, let the system handle it, score it.

Every ticket goes through the real API (Django's test client with a token, so the real
URL, authentication, serializer and service code), is analysed and decided by the real
task code (drained from the ORM queue with django-q2's worker code, ``worker.drain``), and
executed over MCP against the lab. People are simulated only where the system asks for
them, and see only what the API shows them: an approver (approvals API) who judges the
ticket's diagnosis and proposal, wrong both ways at set rates, and an operator (feedback
API) who rates a share of tickets from their status afterwards, wrong at a set rate. Only
the report (and the simulated admin's review) compares them with the lab's truth.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django_q.models import Schedule

from patterns.models import Pattern
from policies.models import AutoRemediationPolicy
from remediation.connectors.mcp import McpSession
from remediation.connectors.mcp_connector import close_pooled_sessions
from remediation.connectors.models import (
    EVIDENCE_PLATFORMS,
    ConnectorTransport,
    PlatformConnector,
)
from remediation.scoring.selectors import calibration_stats
from remediation.tickets.models import Ticket, TicketStatus
from replay.kinds import (
    Incident,
    ScenarioError,
    check_against_lab,
    check_scenario,
    incident_stream,
    scenario_kinds,
)
from replay.labserver import TOKEN_ENV, lab_over_http
from replay.worker import drain, run_due_schedules

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
TICKET_PREFIX = "RPL-"
# How often (in incidents) the simulated admin works the flagged patterns when the scenario
# does not say (``review_every``).
DEFAULT_REVIEW_EVERY = 10
FEEDBACK_STATES = {
    TicketStatus.ANALYZED,
    TicketStatus.MANUAL_REVIEW,
    TicketStatus.RESOLVED,
    TicketStatus.PARTIALLY_REMEDIATED,
    TicketStatus.FAILED,
}


def load_scenario(name: str) -> dict[str, Any]:
    """A scenario by name (``replay/scenarios/NAME.json``) or a JSON file's path,
    checked; a file that cannot be run raises ``ScenarioError`` naming the field."""
    path = Path(name)
    if not path.suffix and not path.exists():
        path = SCENARIOS / f"{name}.json"
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path.name}: not JSON ({exc})") from None
    return check_scenario(data, default_name=path.stem)


@dataclass
class Row:
    seq: int
    kind: str
    occurrence: int
    drifted: bool
    fixable: bool
    target: str
    ticket_id: str = ""
    via: str = "ticket"  # how the incident arrived: a ticket, or an Alertmanager alert
    pattern_id: int | None = None
    category: str = ""  # the ticket's category, as intake filed it (for an alert: its mapping)
    status: str = ""
    proposed: list[str] = field(default_factory=list)
    right_action: bool = False
    action_type: str | None = None
    asked: bool = False  # an approval was asked of a person
    approved: bool | None = None
    approver_wrong: bool = False  # the approver's decision differs from the right one
    # The reviewer working the review queue: "ran" its proposal (a person decided),
    # "recorded" what they did after fixing the fault by hand (and closed the review if it
    # stayed in the queue), or "" (not in the queue, or not worked).
    reviewed: str = ""
    reviewer_wrong: bool = False  # the reviewer's choice (run or not) differs from the right one
    # After a fix by hand: the verdict the reviewer recorded ("positive"/"negative") and
    # whether it differs from the truth of what they did (their slip).
    reviewer_recorded: str | None = None
    reviewer_record_wrong: bool = False
    executed: bool = False
    unattended: bool = False  # executed with no person deciding
    fixed_by_system: bool = False
    wrong_unattended: bool = False
    critical_unattended: bool = False
    feedback: str | None = None
    feedback_wrong: bool = False  # the operator's verdict differs from the lab's truth
    feedback_flipped: bool = False  # one of the operator's mistakes on purpose (error rate)
    pattern_eligible_after: bool = False
    seconds_to_fix: float | None = None
    reason: str = ""
    at: str = ""  # the simulated time of the incident


def _users() -> dict[str, Client]:
    """An integration that files tickets, an approver, a reviewer (an approver by role, who
    works the review queue) and an operator, each with a token."""
    from remediation.accounts.services import api_token_create

    user_model = get_user_model()
    clients = {}
    for name, group in (
        ("replay-intake", None),
        ("replay-approver", "Approvers"),
        ("replay-reviewer", "Approvers"),
        ("replay-operator", "Operators"),
    ):
        user, _ = user_model.objects.get_or_create(
            username=name, defaults={"email": f"{name}@replay.invalid"}
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        _, key = api_token_create(user=user, name="replay")
        clients[name] = Client(HTTP_AUTHORIZATION=f"Token {key}")
    # The admin who reviews flagged patterns, in the Django admin (a session login).
    admin, _ = user_model.objects.get_or_create(
        username="replay-admin",
        defaults={"email": "replay-admin@replay.invalid", "is_staff": True, "is_superuser": True},
    )
    clients["replay-admin"] = Client()
    clients["replay-admin"].force_login(admin)
    return clients


def apply_policy_overrides(policies: dict[str, dict[str, Any]]) -> list[str]:
    """Scenario overrides of policies, as an admin would make them; returns what changed."""
    notes = []
    for category, changes in policies.items():
        changes = dict(changes)
        source = changes.pop("copy_of", None)
        policy = AutoRemediationPolicy.objects.filter(category=category).first()
        if policy is None:
            if source is None:
                raise ValueError(f"no policy for {category!r} and no copy_of given")
            policy = AutoRemediationPolicy.objects.get(category=source)
            policy.pk = None
            policy.category = category
            policy.name = f"{category}-replay-override"
            notes.append(f"policy {policy.name}: new, a copy of {source}'s")
        for key, value in changes.items():
            setattr(policy, key, value)
        policy.full_clean()
        policy.save()
        notes.append(f"policy {policy.name}: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
    return notes


def apply_alert_mapping_overrides(mappings: dict[str, dict[str, Any]]) -> list[str]:
    """Scenario overrides of alert label mappings (by name), as an admin would make them in
    the admin: for instance ``enable_auto_remediation`` for alerts of a well-known kind. A
    name no mapping has adds one when the entry says ``"add": true`` (its fields as in the
    admin: ``required_labels``, ``priority``, ``system_template``, ``default_category``…)."""
    from remediation.alerts.models import AlertMapping

    notes = []
    for name, changes in mappings.items():
        mapping = AlertMapping.objects.filter(name=name).first()
        if mapping is None and changes.get("add") is True:
            mapping = AlertMapping(name=name)
        if mapping is None:
            known = ", ".join(AlertMapping.objects.order_by("name").values_list("name", flat=True))
            raise ScenarioError(
                f"overrides.alert_mappings: no mapping {name!r} (known: {known}; "
                '"add": true adds one)'
            )
        for key, value in changes.items():
            if key in ("why", "add"):
                continue
            if key not in {f.name for f in AlertMapping._meta.fields} or key == "id":
                raise ScenarioError(f"overrides.alert_mappings.{name}.{key}: unknown field")
            setattr(mapping, key, value)
        try:
            mapping.full_clean()
        except ValidationError as exc:
            raise ScenarioError(f"overrides.alert_mappings.{name}: {exc.messages}") from None
        mapping.save()
        notes.append(
            f"alert mapping {name}: "
            + ", ".join(f"{k}={v}" for k, v in changes.items() if k not in ("why", "add"))
        )
    return notes


def _awaits_its_recheck(shown: dict[str, Any]) -> bool:
    """A fix that ran and resolved the ticket, not yet confirmed or refuted by its
    hold-time re-check (as the ticket API shows it)."""
    return bool(
        shown.get("auto_remediation_executed")
        and shown.get("status") == TicketStatus.RESOLVED
        and not shown.get("fix_held_at")
    )


def right_fixes(incident: Incident, cleared_by: Mapping[str, Any] | None = None) -> set[str]:
    """The operations that are the right fix for what the lab staged: the kind's fix, or for
    a drifted incident what the lab says clears the drift condition (none: a person)."""
    if incident.drifted:
        ops = (cleared_by or {}).get(incident.condition, ())
        return {str(op) for op in ops} if isinstance(ops, list | tuple) else set()
    return {incident.kind.fix} if incident.kind.fix else set()


def hand_fix(
    incident: Incident,
    proposed: list[dict[str, Any]],
    cleared_by: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """What a person who fixed the incident by hand did, as ``actual_actions_taken``: the
    right fix (``right_fixes``) on the staged target, with the proposal's parameters where
    the proposal was that operation on that target; [] where no catalogue operation is the
    fix (they did something else, said in words)."""
    fixes = sorted(right_fixes(incident, cleared_by))
    if not fixes:
        return []
    operation = incident.kind.fix if incident.kind.fix in fixes else fixes[0]
    for a in proposed:
        values = {str(v) for v in (a.get("params") or {}).values()}
        if a.get("operation") == operation and incident.target in values:
            return [
                {
                    "operation": operation,
                    "system": str(a.get("system") or incident.target),
                    "params": dict(a.get("params") or {}),
                }
            ]
    item: dict[str, Any] = {"operation": operation, "system": incident.target}
    if incident.interface:
        item["params"] = {"interface": incident.interface}
    return [item]


def _right(
    incident: Incident,
    actions: list[dict[str, Any]],
    cleared_by: Mapping[str, Any] | None = None,
) -> bool:
    """The right fix (``right_fixes``), on the staged target (and interface)."""
    fixes = right_fixes(incident, cleared_by)
    if not fixes or not actions:
        # A drifted incident reads like its kind but the lab's fault is another one: the
        # kind's fix is not the right fix any more (the approver knows what the lab holds).
        return False
    for a in actions:
        values = {str(v) for v in (a.get("params") or {}).values()}
        if a.get("operation") not in fixes or incident.target not in values:
            return False
        if incident.interface and incident.interface not in values:
            return False
    return True


def feedback_truth(
    incident: Incident, row: Row, cleared_by: Mapping[str, Any] | None = None
) -> bool:
    """Whether a positive verdict on the ticket is right, by the lab's truth."""
    if row.executed:
        return row.fixed_by_system
    # Nothing ran: the analysis was right if it proposed nothing where no action fixes
    # what the lab staged (a kind without a fix, or a drifted incident whose fault no
    # operation clears), or proposed the right fix that a check then stopped.
    no_action_right = not right_fixes(incident, cleared_by)
    return (no_action_right and not row.proposed) or row.right_action


class Replay:
    def __init__(
        self,
        scenario: dict[str, Any],
        *,
        use_overrides: bool,
        out=None,
        lab_log: str | None = None,
    ) -> None:
        self.scenario = scenario
        self.kinds = scenario_kinds(scenario)
        self.use_overrides = use_overrides
        self.rng = random.Random(scenario.get("seed", 0) + 1)
        self.error_rate = float(scenario.get("operator_error_rate", 0.1))
        self.coverage = float(scenario.get("operator_coverage", 0.3))
        self.false_approve = float(scenario.get("approver_false_approve_rate", 0.025))
        self.false_reject = float(scenario.get("approver_false_reject_rate", 0.025))
        # The share of the review queue a person works through the queue (the rest is fixed
        # by hand outside the system, which then learns nothing from it).
        self.reviewer_coverage = float(scenario.get("reviewer_coverage", 1.0))
        # The simulated people's own random streams: their mistakes do not move each other's.
        self.approver_rng = random.Random(scenario.get("seed", 0) + 3)
        self.reviewer_rng = random.Random(scenario.get("seed", 0) + 4)
        self.out = out
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.reviews: list[dict[str, Any]] = []
        self._reviewed: set[str] = set()
        # A simulated admin works the patterns flagged for review every this many incidents
        # (0: never). A team that runs the system has one: a flag otherwise holds its pattern
        # back for good.
        self.review_every = int(scenario.get("review_every", DEFAULT_REVIEW_EVERY))
        self._starts: dict[int, str] = {}  # each alert's startsAt, by incident
        self.lab_log = lab_log
        self.calibration: dict[str, Any] = {}
        self.cleared_by: dict[str, Any] = {}

    def run(self) -> dict[str, Any]:
        if Ticket.objects.exclude(ticket_id__startswith=TICKET_PREFIX).exists():
            raise RuntimeError("this database holds tickets that are not the replay's")
        settings_over: dict[str, Any] = {}
        start, gap = self._clock()
        self.notes.append(
            f"simulated clock: incidents from {start:%Y-%m-%d %H:%M} UTC, on average every "
            f"{gap:g} h (random gaps); hourly limits, time windows, storm control and circuit "
            "breakers see that clock"
        )
        if self.use_overrides:
            over = self.scenario.get("overrides", {})
            self.notes += [
                f"override: {n}" for n in apply_policy_overrides(over.get("policies", {}))
            ]
            self.notes += [
                f"override: {n}"
                for n in apply_alert_mapping_overrides(over.get("alert_mappings", {}))
            ]
            extra = dict(over.get("settings", {}))
            settings_over.update(extra)
            self.notes += [f"override: setting {k}={v}" for k, v in extra.items()]
        self.clients = _users()
        started = time.monotonic()
        with (
            override_settings(**settings_over),
            lab_over_http(str(settings.LAB_STATE_PATH), log_path=self.lab_log) as (spec, control),
        ):
            # Every connector of the run reaches the one lab server over HTTP (see labserver);
            # put back afterwards (``--here`` may run on a database someone goes on using).
            saved = list(
                PlatformConnector.objects.values(
                    "pk", "transport", "url", "command", "args", "token_env"
                )
            )
            # The platforms' connectors only: an evidence source (Prometheus) is not the lab.
            PlatformConnector.objects.exclude(platform__in=EVIDENCE_PLATFORMS).update(
                transport=ConnectorTransport.HTTP,
                url=spec.url,
                command="",
                args=[],
                token_env=TOKEN_ENV,
            )
            self.notes.append(
                "connectors: the lab over streamable HTTP, one server process for the run"
            )
            try:
                # Staging and the lab's truth go through its control server, which no
                # connector is given.
                with McpSession(control) as lab:
                    self.lab = lab
                    conditions = self._lab("conditions")
                    check_against_lab(
                        self.scenario,
                        self.kinds,
                        self._lab("lab_inventory"),
                        conditions,
                    )
                    # The lab's truth of what clears each condition (for judging only).
                    self.cleared_by = dict(conditions.get("cleared_by") or {})
                    self._incidents()
                    self.calibration = self._calibration()
            finally:
                close_pooled_sessions()  # sessions to this run's lab server, now stopping
                for row in saved:
                    fields = {k: v for k, v in row.items() if k != "pk"}
                    PlatformConnector.objects.filter(pk=row["pk"]).update(**fields)
        return {
            "scenario": self.scenario["name"],
            "fixes": {key: kind.fix for key, kind in self.kinds.items()},
            "categories": {key: kind.category for key, kind in self.kinds.items()},
            "overrides": self.use_overrides,
            "override_notes": self.notes,
            "operator_error_rate": self.error_rate,
            "operator_coverage": self.coverage,
            "approver_false_approve_rate": self.false_approve,
            "approver_false_reject_rate": self.false_reject,
            "reviewer_coverage": self.reviewer_coverage,
            "seconds": round(time.monotonic() - started, 1),
            "rows": [asdict(r) for r in self.rows],
            "reviews": self.reviews,
            "calibration": self.calibration,
        }

    def _calibration(self) -> dict[str, Any]:
        """How well the reliability score and the AI confidence predicted the outcomes of the
        run's concluded tickets (``GET /api/v1/stats/calibration``'s numbers, over the whole
        simulated span): count, expected calibration error, Brier score and the bins,
        overall and by category."""
        rows = self.rows
        if not rows:
            return {}
        first = datetime.fromisoformat(rows[0].at)
        last = datetime.fromisoformat(rows[-1].at) + timedelta(days=1)
        stats = calibration_stats(days=(last - first).days + 2, now=last)

        def brief(report: Any) -> dict[str, Any]:
            return asdict(report)

        names = ("reliability", "ai_confidence", "calibrated_probability", "gate")
        return {
            **{name: brief(stats[name]) for name in names},
            "by_category": [
                {"category": c["category"], **{name: brief(c[name]) for name in names}}
                for c in stats["by_category"]
            ],
        }

    def _clock(self) -> tuple[datetime, float]:
        clock = self.scenario.get("clock", {})
        start = datetime.fromisoformat(clock.get("start", "2026-01-05T00:00:00+00:00"))
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start, float(clock.get("mean_gap_hours", 4))

    def _incidents(self) -> None:
        """Each incident at its own moment of a simulated clock (``time_machine``).

        Weeks of incidents are replayed in a minute: every rule that counts time (hourly
        action limits, policy time windows, storm control, circuit breakers, approval
        expiry) sees the incidents as far apart as the scenario says, not as one burst.
        The whole system under test runs in this process (the worker code too), so one
        clock holds for all of it; the lab, a separate process, keeps no time-based rules.
        """
        start, gap = self._clock()
        gaps = random.Random(self.scenario.get("seed", 0) + 2)
        moment = start
        # The repeating schedules (sweeps, expiry, seals, the calibration refit) start with
        # the simulated clock, as a qcluster started then would run them; migrate stamped
        # them with the real clock's moment, which the simulated one never reaches.
        Schedule.objects.exclude(schedule_type=Schedule.ONCE).update(next_run=start)
        for incident in incident_stream(self.scenario, self.kinds):
            moment += timedelta(hours=gaps.expovariate(1.0 / gap))
            self._scheduled_until(moment)
            with time_machine.travel(moment, tick=True):
                row = self.one(incident)
                row.at = moment.isoformat(timespec="minutes")
                self.rows.append(row)
                if self.review_every and incident.seq % self.review_every == 0:
                    self._admin_review(incident.seq)
            if self.out is not None:
                r = self.rows[-1]
                self.out.write(
                    f"#{r.seq:>3} {r.kind:<15} occ {r.occurrence:>2} {r.status:<20} "
                    f"{'UNATTENDED' if r.unattended else ('asked' if r.asked else '')} "
                    f"{'fixed' if r.fixed_by_system else ''}"
                )
        # What is still scheduled after the last incident (a fix's hold-time re-check)
        # runs at its own moment too, so every measured fix is settled in the report.
        self._scheduled_until(None)

    def _scheduled_until(self, moment: datetime | None) -> None:
        """Run each schedule due before ``moment`` (None: all of them) at its own simulated
        moment, as a qcluster's scheduler would: a measured fix's re-check at the end of its
        hold time reads the lab as it stands between incidents. The moments are those of
        one-off schedules and, just before ``moment``, the incident's own: the repeating
        ones (sweeps, expiry, audit seals, the calibration refit) run at them when due."""
        while True:
            due = (
                Schedule.objects.filter(schedule_type=Schedule.ONCE)
                .exclude(repeats=0)
                .order_by("next_run")
                .first()
            )
            if due is None or (moment is not None and due.next_run >= moment):
                if moment is not None:
                    # The repeating schedules due by now run too, just before the incident.
                    with time_machine.travel(moment - timedelta(seconds=1), tick=False):
                        run_due_schedules()
                return
            with time_machine.travel(due.next_run + timedelta(seconds=1), tick=True):
                run_due_schedules()
            if Schedule.objects.filter(pk=due.pk, next_run=due.next_run).exclude(repeats=0):
                raise RuntimeError(f"schedule {due.name or due.pk} did not run when due")

    def _admin_review(self, seq: int) -> None:
        """A simulated admin works the patterns flagged for review, in the Django admin.

        Trusted feedback that disagrees with a measured result flags the pattern, which
        then never runs alone until an admin clears the flag. The admin reads each newly
        flagged ticket as staff sees it (``GET /api/v1/tickets/<id>``: status, outcome,
        whether the measured fix held, ``fix_held_at``), never the lab's truth: measured
        outcomes outweigh a rating, so when every flagged ticket's fix ran and was confirmed
        to hold, the flag is cleared with the pattern admin's "Reviewed" action; when any
        did not hold or failed (or nothing measured it), the flag is kept. A pattern with a
        flagged fix still within its hold time waits for the next round.
        """
        by_ticket = {r.ticket_id or f"{TICKET_PREFIX}{r.seq:05d}": r for r in self.rows}
        for pattern in Pattern.objects.filter(needs_review=True).order_by("id"):
            flagged = [
                t
                for t in Ticket.objects.filter(pattern=pattern, needs_review=True)
                .order_by("id")
                .values_list("ticket_id", flat=True)
                if t not in self._reviewed
            ]
            if not flagged:
                continue
            # A fresh login: the simulated weeks outlast a session.
            self.clients["replay-admin"].force_login(
                get_user_model().objects.get(username="replay-admin")
            )
            shown = [self._shown("replay-admin", t) for t in flagged]
            if any(_awaits_its_recheck(t) for t in shown):
                continue  # the measurement is not in yet: looked at again next round
            clear = all(
                t.get("auto_remediation_executed")
                and t.get("status") == TicketStatus.RESOLVED
                and t.get("outcome") == "success"
                and t.get("fix_held_at")
                for t in shown
            )
            if clear:
                answer = self.clients["replay-admin"].post(
                    "/admin/patterns/pattern/",
                    {"action": "clear_review", "_selected_action": [pattern.pk]},
                )
                if answer.status_code != 302:
                    raise RuntimeError(f"admin review: {answer.status_code}")
            self._reviewed.update(flagged)
            kinds = sorted({by_ticket[t].kind for t in flagged})
            self.reviews.append(
                {
                    "after_incident": seq,
                    "pattern_id": pattern.pk,
                    "kinds": kinds,
                    "tickets": flagged,
                    "cleared": clear,
                    # Against the lab's truth, for the report only: did the flags all come
                    # from an operator's mistaken verdict?
                    "right": clear == all(by_ticket[t].feedback_wrong for t in flagged),
                }
            )

    def _lab(self, tool: str, **args: Any) -> Any:
        return self.lab.call(tool, args)

    def one(self, incident: Incident) -> Row:
        kind = incident.kind
        row = Row(
            seq=incident.seq,
            kind=kind.key,
            occurrence=incident.occurrence,
            drifted=incident.drifted,
            fixable=kind.fix is not None and not incident.drifted,
            target=incident.target,
        )
        self._lab("reset_lab")
        self._lab(
            "set_condition",
            target=incident.target,
            condition=incident.condition,
            interface=incident.interface,
        )
        t0 = time.monotonic()
        row.via = kind.via
        if incident.alert is not None:
            ticket_id, outcome, detail = self._fire_alert(incident)
        else:
            ticket_id, outcome, detail = self._file_ticket(incident)
        row.ticket_id = ticket_id or ""
        if outcome != "created":
            # "joined": storm control joined it to an open ticket of the same pattern and
            # target (one a person still holds), the incident is that ticket's. "rejected":
            # the intake refused it (an alert its mappings cannot make a ticket of). Either
            # way a person clears it.
            row.status = outcome
            row.reason = detail
            self._lab(
                "set_condition",
                target=incident.target,
                condition=None,
                interface=incident.interface,
            )
            return row
        drain()
        ticket = Ticket.objects.get(ticket_id=ticket_id)
        row.proposed = [a.get("operation", "?") for a in ticket.suggested_actions or []]
        row.right_action = _right(incident, ticket.suggested_actions or [], self.cleared_by)
        decision = ticket.remediation_decision or {}
        row.action_type = decision.get("action_type")
        if ticket.status == TicketStatus.AWAITING_APPROVAL:
            self._approval(ticket, row)
        in_queue = ticket.status == TicketStatus.MANUAL_REVIEW and not (
            ticket.auto_remediation_executed
        )
        worked = in_queue and self.reviewer_rng.random() < self.reviewer_coverage
        if worked and self._reviewer_runs(ticket, row):
            drain()
            ticket.refresh_from_db()
            if ticket.status == TicketStatus.AWAITING_APPROVAL:
                # The reviewer's approval did not suffice (M-of-N): the approver decides too.
                self._approval(ticket, row)
        row.executed = ticket.auto_remediation_executed
        row.unattended = row.executed and not row.asked and row.reviewed != "ran"
        state = self._lab("condition_status", target=incident.target, interface=incident.interface)
        gone = state.get("condition") is None
        row.fixed_by_system = row.executed and gone
        if row.fixed_by_system:
            row.seconds_to_fix = round(time.monotonic() - t0, 2)
        row.wrong_unattended = row.unattended and not (gone and row.right_action)
        row.critical_unattended = row.unattended and row.action_type == "critical_write"
        row.status = ticket.status
        row.reason = (ticket.status_reason or "")[:200]
        row.pattern_id = ticket.pattern_id
        row.category = ticket.category
        if not gone:  # a person fixes it by hand
            self._lab(
                "set_condition",
                target=incident.target,
                condition=None,
                interface=incident.interface,
            )
            if worked and row.reviewed != "ran":
                # The reviewer who fixed it by hand records what they did from the queue
                # (trusted feedback: it concludes the ticket and teaches the pattern), then
                # closes the review if the record left it in the queue.
                self._reviewer_records(ticket, row, incident)
                if self._in_review_queue(ticket.ticket_id):
                    self._review_post(ticket.ticket_id, "close", {"reason": "Fixed by hand."})
                row.reviewed = "recorded"
        if incident.alert is not None:
            self._resolve_alert(incident)  # the condition is gone: Alertmanager says so
        self._feedback(ticket, row, incident)
        if ticket.pattern_id:
            p = Pattern.objects.get(pk=ticket.pattern_id)
            row.pattern_eligible_after = bool(
                p.eligible_for_auto_remediation and p.enabled and not p.needs_review
            )
        return row

    def _approval(self, ticket: Ticket, row: Row) -> None:
        """The approver answers the ticket's open approval request (approvals API)."""
        row.asked = True
        approve, digest = self._approver_decides(ticket.ticket_id)
        row.approved = approve
        row.approver_wrong = approve != row.right_action
        body: dict[str, Any] = {"approve": approve}
        if approve:
            body["actions_digest"] = digest
        else:
            body["comment"] = "Not the fix for this incident."
        answer = self.clients["replay-approver"].post(
            f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation",
            body,
            content_type="application/json",
        )
        if answer.status_code != 200:
            raise RuntimeError(
                f"approve {ticket.ticket_id}: {answer.status_code} {answer.content!r}"
            )
        drain()
        ticket.refresh_from_db()

    def _review_row(self, ticket_id: str) -> dict[str, Any]:
        """The ticket's row in the review queue as GET /api/v1/reviews lists it."""
        url: str | None = "/api/v1/reviews"
        while url:
            answer = self.clients["replay-reviewer"].get(url)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {url}: {answer.status_code} {answer.content[:300]!r}")
            page = answer.json()
            for item in page["results"]:
                if item["ticket_id"] == ticket_id:
                    return dict(item)
            url = page.get("next")
        raise LookupError(f"{ticket_id} is not in the review queue")

    def _in_review_queue(self, ticket_id: str) -> bool:
        try:
            self._review_row(ticket_id)
        except LookupError:
            return False
        return True

    def _review_post(self, ticket_id: str, verb: str, body: dict[str, Any] | None = None) -> None:
        answer = self.clients["replay-reviewer"].post(
            f"/api/v1/reviews/{ticket_id}/{verb}", body or {}, content_type="application/json"
        )
        if answer.status_code != 200:
            raise RuntimeError(
                f"review {verb} {ticket_id}: {answer.status_code} {answer.content!r}"
            )

    def _reviewer_runs(self, ticket: Ticket, row: Row) -> bool:
        """A person works the ticket from the review queue (GET /api/v1/reviews, then the
        ticket as GET /api/v1/tickets/<id> shows it) and takes it. When the queue says its
        proposal can run and the reviewer judges it sound as the approver would (the same
        reading and error rates, their own random stream), they run it: the ticket goes back
        to awaiting approval and their approval is given through the approval service. True
        when they ran it; otherwise they fix the fault by hand and close the review."""
        item = self._review_row(ticket.ticket_id)
        self._review_post(ticket.ticket_id, "take")
        sound = self._judged_sound(self._shown("replay-reviewer", ticket.ticket_id))
        slip = self.reviewer_rng.random()
        run = bool(item.get("can_run")) and (
            (slip >= self.false_reject) if sound else (slip < self.false_approve)
        )
        if item.get("can_run"):
            row.reviewer_wrong = run != row.right_action
        if run:
            self._review_post(ticket.ticket_id, "run")
            row.reviewed = "ran"
        return run

    def _reviewer_records(self, ticket: Ticket, row: Row, incident: Incident) -> None:
        """The reviewer fixed the fault by hand and records what they did, as the review
        page's "record what you did by hand" does, through ``POST /api/v1/feedback``:
        the catalogue operation they used on the target (none where no operation clears
        the fault: they say so in words) and their verdict on the proposal they saw, which
        is right when it is what they did, or, with nothing proposed, when nothing in the
        catalogue was the fix. They know what they did; everything else is what the API
        showed them. Wrong on purpose at the reviewer's error rates, like their other
        choices."""
        shown = self._shown("replay-reviewer", ticket.ticket_id)
        proposed = shown.get("suggested_actions") or []
        done = hand_fix(incident, proposed, self.cleared_by)
        # Their verdict: the proposal was what they did (or, with nothing proposed, nothing
        # in the catalogue was the fix).
        same = _right(incident, proposed, self.cleared_by) if done else not proposed
        slip = self.reviewer_rng.random()
        good = (slip >= self.false_reject) if same else (slip < self.false_approve)
        body: dict[str, Any] = {
            "ticket_id": ticket.ticket_id,
            "feedback_type": "positive" if good else "negative",
            "rating": 5 if good else 2,
            "resolution_accurate": good,
            "comment": "Recorded from the review queue",
        }
        if done:
            body["actual_actions_taken"] = done
            body["actual_resolution"] = (
                f"Fixed by hand: {done[0]['operation']} on {incident.target}."
            )
        elif proposed:
            body["actual_resolution"] = "Fixed by hand; no catalogue operation was the fix."
        answer = self.clients["replay-reviewer"].post(
            "/api/v1/feedback", body, content_type="application/json"
        )
        if answer.status_code != 201:
            raise RuntimeError(
                f"record {ticket.ticket_id}: {answer.status_code} {answer.content!r}"
            )
        row.reviewer_recorded = body["feedback_type"]
        row.reviewer_record_wrong = good != same

    def _file_ticket(self, incident: Incident) -> tuple[str, str, str]:
        """POST /api/v1/tickets, as an integration does: (ticket_id, outcome, detail)."""
        ticket_id = f"{TICKET_PREFIX}{incident.seq:05d}"
        answer = self.clients["replay-intake"].post(
            "/api/v1/tickets",
            {
                "ticket_id": ticket_id,
                "title": incident.title,
                "description": incident.description,
                "category": incident.kind.category,
                "affected_system": incident.target,
                "enable_auto_remediation": True,
            },
            content_type="application/json",
        )
        if answer.status_code == 200 and answer.json().get("joined"):
            return ticket_id, "joined", f"joined {answer.json().get('ticket_id')}"
        if answer.status_code != 201:
            raise RuntimeError(f"POST {ticket_id}: {answer.status_code} {answer.content[:300]!r}")
        return ticket_id, "created", ""

    def _alert(self, incident: Incident, status: str) -> dict[str, Any]:
        assert incident.alert is not None
        if status == "firing":
            self._starts[incident.seq] = datetime.now(UTC).isoformat()
        alert: dict[str, Any] = {
            "status": status,
            "labels": dict(incident.alert["labels"]),
            "annotations": dict(incident.alert["annotations"]),
            "startsAt": self._starts[incident.seq],
        }
        if status == "resolved":
            alert["endsAt"] = datetime.now(UTC).isoformat()
        return {
            "version": "4",
            "status": status,
            "receiver": "replay",
            "groupKey": f"replay:{incident.kind.key}",
            "alerts": [alert],
        }

    def _fire_alert(self, incident: Incident) -> tuple[str | None, str, str]:
        """POST /api/v1/alerts/alertmanager, as Alertmanager's webhook does."""
        answer = self.clients["replay-intake"].post(
            "/api/v1/alerts/alertmanager",
            self._alert(incident, "firing"),
            content_type="application/json",
        )
        if answer.status_code not in (200, 207):
            raise RuntimeError(
                f"alert #{incident.seq}: {answer.status_code} {answer.content[:300]!r}"
            )
        result = answer.json()["results"][0]
        outcome = str(result["outcome"])
        detail = json.dumps(result.get("errors") or {})[:200] if outcome == "rejected" else ""
        if outcome == "joined":
            detail = f"joined {result.get('ticket_id')}"
        return result.get("ticket_id"), outcome, detail

    def _resolve_alert(self, incident: Incident) -> None:
        answer = self.clients["replay-intake"].post(
            "/api/v1/alerts/alertmanager",
            self._alert(incident, "resolved"),
            content_type="application/json",
        )
        if answer.status_code != 200:
            raise RuntimeError(
                f"alert #{incident.seq} resolved: {answer.status_code} {answer.content[:300]!r}"
            )

    def _shown(self, who: str, ticket_id: str) -> dict[str, Any]:
        """The ticket as the API shows it to this person (GET /api/v1/tickets/<id>)."""
        answer = self.clients[who].get(f"/api/v1/tickets/{ticket_id}")
        if answer.status_code != 200:
            raise RuntimeError(f"GET {ticket_id} as {who}: {answer.status_code}")
        return dict(answer.json())

    def _approver_decides(self, ticket_id: str) -> tuple[bool, str]:
        """The approver reads only what the approval API shows: approve when the diagnosis
        is established and its cause was observed on the system (not only the ticket's
        words), no person is said to be needed, and every proposed action is on the
        ticket's affected system; else reject. Wrong both ways at the scenario's rates."""
        shown = self._shown("replay-approver", ticket_id)
        sound = self._judged_sound(shown)
        slip = self.approver_rng.random()
        approve = (slip >= self.false_reject) if sound else (slip < self.false_approve)
        return approve, str(shown.get("actions_digest") or "")

    @staticmethod
    def _judged_sound(shown: dict[str, Any]) -> bool:
        """A person's reading of the ticket as the API shows it: the diagnosis is
        established on what was observed, no person is said to be needed, and every proposed
        action is on the ticket's affected system."""
        diagnosis = shown.get("diagnosis") or {}
        system = str(shown.get("affected_system") or "")
        actions = shown.get("suggested_actions") or []
        return (
            diagnosis.get("established") is True
            and diagnosis.get("basis") == "observed"
            and not diagnosis.get("needs_human")
            and bool(actions)
            and all(
                system and system in {str(v) for v in (a.get("params") or {}).values()}
                for a in actions
            )
        )

    def _feedback(self, ticket: Ticket, row: Row, incident: Incident) -> None:
        ticket.refresh_from_db()
        if ticket.status not in FEEDBACK_STATES:
            return
        # The operator rates a share of tickets, from what the API shows afterwards.
        if self.rng.random() >= self.coverage:
            return
        shown = self._shown("replay-operator", ticket.ticket_id)
        if not shown.get("auto_remediation_executed") and shown.get("outcome") in (
            "success",
            "failure",
        ):
            # Nothing ran and a person already recorded how it ended (the reviewer's record
            # from the queue): the operator has nothing to add.
            return
        if shown.get("auto_remediation_executed"):
            # Something ran: did the ticket end resolved with a success (and, for an
            # alert's ticket, did the alert resolve)?
            good = (
                shown.get("status") == TicketStatus.RESOLVED and shown.get("outcome") != "failure"
            )
            if shown.get("source") == "alertmanager":
                good = good and bool(shown.get("alert_resolved_at"))
        else:
            # Nothing ran and a person worked it: the analysis reads as accurate when it
            # proposed a fix on a diagnosis established on what was observed, or proposed
            # nothing and said a person was needed.
            diagnosis = shown.get("diagnosis") or {}
            if shown.get("suggested_actions"):
                good = diagnosis.get("established") is True and diagnosis.get("basis") == "observed"
            else:
                good = diagnosis.get("needs_human") is True
        row.feedback_flipped = self.rng.random() < self.error_rate
        if row.feedback_flipped:
            good = not good
        # Against the lab's truth (for the report and the admin's review only).
        row.feedback_wrong = good != feedback_truth(incident, row, self.cleared_by)
        body: dict[str, Any] = {
            "ticket_id": ticket.ticket_id,
            "feedback_type": "positive" if good else "negative",
            "rating": 5 if good else 1,
            "resolution_accurate": good,
        }
        if row.executed:
            body["actions_worked"] = good
        answer = self.clients["replay-operator"].post(
            "/api/v1/feedback", body, content_type="application/json"
        )
        if answer.status_code != 201:
            raise RuntimeError(
                f"feedback {ticket.ticket_id}: {answer.status_code} {answer.content!r}"
            )
        row.feedback = body["feedback_type"]
