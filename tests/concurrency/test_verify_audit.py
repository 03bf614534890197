"""verify_audit finds each kind of tampering, on PostgreSQL (where triggers normally refuse
UPDATE and DELETE of audit rows and seals, and DELETE of anchors: the tamperer here is
someone with database access who can switch them off, but does not hold the audit key)."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from lab.state import LabState
from remediation.approvals.services import approval_expire_due, approval_grant, approval_reject
from remediation.audit.models import AuditAction, AuditAnchor, AuditEvent, AuditSeal
from remediation.audit.services import audit, audit_seal
from remediation.connectors import registry
from remediation.execution.models import Execution
from remediation.execution.services import execution_request, execution_run
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.services import TicketInput, ticket_create
from tests.support.approvals import BREAKDOWN, approver, policy
from tests.support.dbutil import child_env
from tests.support.deciding import decide
from tests.support.doubles import LabDouble
from tests.support.execution import LAB_CATEGORY, action, lab_policy
from tests.support.factories import RESTART_VM, PatternFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TABLES = ("remediation_auditevent", "remediation_auditanchor", "remediation_auditseal")


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("tampering past the append-only triggers is a PostgreSQL scenario")


@pytest.fixture
def submitter():
    return UserFactory(username="submitter")


def ticket_with_events(user, ticket_id: str, events: int) -> Ticket:
    """A ticket made as intake makes it (``ticket.created``), then ``events`` more rows."""
    ticket = ticket_create(
        TicketInput(
            ticket_id=ticket_id,
            title="Service down",
            description="Web service not responding on port 8080",
            category="server",
        ),
        acting_user=user,
    ).ticket
    for n in range(events):
        with transaction.atomic():
            audit(AuditAction.STATUS_CHANGED, f"event {n}", ticket=ticket, details={"n": n})
    return ticket


@pytest.fixture
def trail(submitter) -> list[int]:
    """The ids of the five rows after ``ticket.created`` of one ticket's stream."""
    ticket = ticket_with_events(submitter, "INC-TRAIL", 5)
    return list(
        AuditEvent.objects.filter(ticket=ticket).order_by("id").values_list("id", flat=True)
    )[1:]


def tamper(sql: str, params: Any = ()) -> None:
    """What someone who can switch the triggers off can do (and did: see the tests)."""
    tables = [t for t in TABLES if t in sql]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def verify() -> str:
    """The report of ``verify_audit`` when it fails (exit status 1); "" when it passes."""
    out = io.StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as exc:
        assert "problem(s) in" in str(exc)
        return out.getvalue()
    assert "Audit trail intact" in out.getvalue()
    return ""


def stream(ticket: Ticket) -> str:
    return f"ticket:{ticket.pk}"


def saved_anchor(name: str) -> tuple[Any, ...]:
    """An anchor as someone reading the table sees it (to put it back later)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT length, head_hash, sealed_seq, sealed_length, mac"
            " FROM remediation_auditanchor WHERE stream = %s",
            [name],
        )
        row = cursor.fetchone()
    assert row is not None
    return row


def put_back(name: str, anchor: tuple[Any, ...]) -> None:
    tamper(
        "UPDATE remediation_auditanchor SET length = %s, head_hash = %s, sealed_seq = %s,"
        " sealed_length = %s, mac = %s WHERE stream = %s",
        [*anchor, name],
    )


def cut_back(name: str, anchor: tuple[Any, ...]) -> None:
    """The replay: delete the rows written after ``anchor`` was saved, then put it back.
    What remains is a consistent chain under a once-valid anchor."""
    ids = list(AuditEvent.objects.filter(stream=name).order_by("id").values_list("id", flat=True))
    tamper("DELETE FROM remediation_auditevent WHERE id = ANY(%s)", [ids[anchor[0] :]])
    put_back(name, anchor)


# --- Rows edited, deleted, inserted, reordered -----------------------------------------


def test_an_intact_trail_verifies(trail):
    assert verify() == ""
    assert audit_seal() == 1
    assert verify() == ""


def test_an_edited_row_is_found(trail):
    tamper(
        "UPDATE remediation_auditevent SET message = 'nothing happened' WHERE id = %s", [trail[2]]
    )
    report = verify()
    assert f"row {trail[2]}: content does not match its hash (edited)" in report


def test_a_deleted_row_is_found_at_the_row_after_it(trail):
    tamper("DELETE FROM remediation_auditevent WHERE id = %s", [trail[1]])
    report = verify()
    assert f"row {trail[2]}: does not follow the previous row" in report
    assert "its anchor records 6 rows; 5 remain (1 deleted)" in report


def test_an_inserted_row_is_found(trail):
    row = AuditEvent.objects.get(pk=trail[3])
    tamper(
        "INSERT INTO remediation_auditevent (ticket_id, actor_label, action, message, details,"
        " created_at, stream, prev_hash, hash) VALUES (%s, 'system', 'ticket.status_changed',"
        " 'forged', '{}', %s, %s, %s, %s)",
        [row.ticket_id, row.created_at, row.stream, row.hash, "f" * 64],
    )
    report = verify()
    assert "content does not match its hash (edited)" in report


def test_reordered_rows_are_found(trail):
    a, b = AuditEvent.objects.get(pk=trail[1]), AuditEvent.objects.get(pk=trail[2])
    tamper("UPDATE remediation_auditevent SET id = -1 WHERE id = %s", [a.pk])
    tamper("UPDATE remediation_auditevent SET id = %s WHERE id = %s", [a.pk, b.pk])
    tamper("UPDATE remediation_auditevent SET id = %s WHERE id = -1", [b.pk])
    report = verify()
    assert f"row {trail[1]}: does not follow the previous row" in report


# --- What a chain alone cannot show: cut-off ends and deleted streams --------------------


def test_the_probe_deleting_a_whole_stream_and_the_end_of_another_is_found(submitter):
    # What happened: all 6 rows of one ticket's stream deleted, and the last 3 of another.
    gone = ticket_with_events(submitter, "INC-GONE", 5)
    cut = ticket_with_events(submitter, "INC-CUT", 5)
    intact = ticket_with_events(submitter, "INC-INTACT", 5)
    assert verify() == ""
    tamper("DELETE FROM remediation_auditevent WHERE ticket_id = %s", [gone.pk])
    last3 = list(AuditEvent.objects.filter(ticket=cut).order_by("-id").values_list("id", flat=True))
    tamper("DELETE FROM remediation_auditevent WHERE id = ANY(%s)", [last3[:3]])

    report = verify()
    assert f"{stream(gone)}: its anchor records 6 rows; none remain (the stream was deleted)" in (
        report
    )
    assert f"{stream(gone)}: ticket INC-GONE has no ticket.created event" in report
    assert f"{stream(cut)}: its anchor records 6 rows; 3 remain (3 deleted at its end)" in report
    assert stream(intact) + ":" not in report


def test_rows_cut_off_the_end_are_found_even_after_a_seal(submitter):
    ticket = ticket_with_events(submitter, "INC-CUT", 5)
    audit_seal()
    last3 = list(
        AuditEvent.objects.filter(ticket=ticket).order_by("-id").values_list("id", flat=True)
    )
    tamper("DELETE FROM remediation_auditevent WHERE id = ANY(%s)", [last3[:3]])
    report = verify()
    assert f"{stream(ticket)}: its anchor records 6 rows; 3 remain (3 deleted at its end)" in report


# --- Anchors deleted, rewound, forged --------------------------------------------------


def test_a_deleted_anchor_is_found(submitter):
    ticket = ticket_with_events(submitter, "INC-1", 5)
    tamper("DELETE FROM remediation_auditanchor WHERE stream = %s", [stream(ticket)])
    assert f"{stream(ticket)}: 6 rows but no anchor (the anchor was deleted)" in verify()


def test_a_stream_appended_to_after_its_anchor_was_deleted_is_still_found(submitter):
    ticket = ticket_with_events(submitter, "INC-1", 5)
    tamper("DELETE FROM remediation_auditanchor WHERE stream = %s", [stream(ticket)])
    with transaction.atomic():
        event = audit(AuditAction.STATUS_CHANGED, "after", ticket=ticket)
    report = verify()
    assert f"row {event.pk}: does not follow the previous row" in report
    assert f"{stream(ticket)}: 7 rows, but its anchor records 1" in report


def test_an_anchor_put_back_to_an_older_value_is_found(submitter):
    ticket = ticket_with_events(submitter, "INC-1", 2)
    older = saved_anchor(stream(ticket))
    for n in range(3):
        with transaction.atomic():
            audit(AuditAction.STATUS_CHANGED, f"later {n}", ticket=ticket)
    put_back(stream(ticket), older)
    assert f"{stream(ticket)}: 6 rows, but its anchor records 3" in verify()


def test_a_replay_rows_cut_and_the_older_anchor_put_back_is_found_once_sealed(submitter):
    ticket = ticket_with_events(submitter, "INC-1", 2)
    older = saved_anchor(stream(ticket))  # 3 rows, never sealed: a once-valid anchor
    for n in range(3):
        with transaction.atomic():
            audit(AuditAction.STATUS_CHANGED, f"later {n}", ticket=ticket)
    audit_seal()  # the schedule's minute passes
    cut_back(stream(ticket), older)

    report = verify()
    assert (
        f"{stream(ticket)}: seal 1 recorded 6 rows, but its anchor carries seal 0 at 0 rows "
        "(the anchor was put back to an older value)"
    ) in report
    assert f"{stream(ticket)}: seal 1 records 6 rows; 3 remain (3 deleted at its end)" in report


def test_a_forged_anchor_is_found(submitter):
    ticket = ticket_with_events(submitter, "INC-1", 5)
    rows = list(AuditEvent.objects.filter(ticket=ticket).order_by("id"))
    tamper("DELETE FROM remediation_auditevent WHERE id = ANY(%s)", [[r.pk for r in rows[3:]]])
    # The anchor made to agree with what is left: its HMAC cannot be, without the key.
    tamper(
        "UPDATE remediation_auditanchor SET length = 3, head_hash = %s WHERE stream = %s",
        [rows[2].hash, stream(ticket)],
    )
    report = verify()
    assert f"{stream(ticket)}: its anchor does not match its HMAC (edited or forged)" in report


def test_a_stream_deleted_with_its_anchor_is_found_once_sealed(submitter):
    ticket = ticket_with_events(submitter, "INC-1", 5)
    audit_seal()
    tamper("DELETE FROM remediation_auditevent WHERE ticket_id = %s", [ticket.pk])
    tamper("DELETE FROM remediation_auditanchor WHERE stream = %s", [stream(ticket)])
    report = verify()
    assert f"{stream(ticket)}: seal 1 records 6 rows; none remain (the stream was deleted)" in (
        report
    )


# --- Seals deleted or edited -----------------------------------------------------------


def test_a_deleted_last_seal_is_found_by_the_anchors_it_marked(submitter):
    first = ticket_with_events(submitter, "INC-1", 1)
    audit_seal()
    second = ticket_with_events(submitter, "INC-2", 1)
    audit_seal()
    tamper("DELETE FROM remediation_auditseal WHERE seq = 2")
    report = verify()
    assert f"{stream(second)}: its anchor carries seal 2, which does not record it" in report
    assert stream(first) + ":" not in report


def test_a_deleted_or_edited_seal_in_the_middle_is_found(submitter):
    for n in range(3):
        ticket_with_events(submitter, f"INC-{n}", 1)
        audit_seal()
    tamper("UPDATE remediation_auditseal SET entries = '[]' WHERE seq = 3")
    tamper("DELETE FROM remediation_auditseal WHERE seq = 2")
    report = verify()
    assert "seals: seals 2 to 2 are missing (deleted)" in report
    assert "seals: seal 3 does not follow the seal before it" in report
    assert "seals: seal 3 does not match its hash (edited or forged)" in report


def test_the_app_cannot_delete_anchors_or_change_seals_by_accident(submitter):
    ticket_with_events(submitter, "INC-1", 1)
    audit_seal()
    with pytest.raises(TypeError):
        AuditAnchor.objects.all().delete()
    with pytest.raises(TypeError):
        AuditSeal.objects.all().delete()
    with pytest.raises(TypeError):
        AuditSeal.objects.update(entries=[])
    for sql in (
        "DELETE FROM remediation_auditanchor",
        "DELETE FROM remediation_auditseal",
        "UPDATE remediation_auditseal SET entries = '[]'",
    ):
        with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
            cursor.execute(sql)
    assert verify() == ""


# --- Records whose events are gone (the trail itself left consistent) -------------------


def test_a_ticket_without_its_created_event_is_found(submitter):
    ticket = ticket_with_events(submitter, "INC-1", 2)
    ticket_with_events(submitter, "INC-2", 2)
    # The whole stream and its anchor, before any seal: the trail alone is consistent.
    tamper("DELETE FROM remediation_auditevent WHERE ticket_id = %s", [ticket.pk])
    tamper("DELETE FROM remediation_auditanchor WHERE stream = %s", [stream(ticket)])
    report = verify()
    assert report.strip().splitlines() == [
        f"{stream(ticket)}: ticket INC-1 has no ticket.created event"
    ]


@pytest.fixture
def lab_path(tmp_path, settings, seeded):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 1000
    lab_policy()
    return path


def executable_ticket(user, ticket_id: str, actions: list[dict[str, Any]]) -> Ticket:
    """A ticket made by intake, then in the state an auto-approving decision leaves it."""
    ticket = ticket_create(
        TicketInput(
            ticket_id=ticket_id,
            title="Instance hung",
            description="The instance is hung",
            category=LAB_CATEGORY,
        ),
        acting_user=user,
    ).ticket
    Ticket.objects.filter(pk=ticket.pk).update(
        status=TicketStatus.ANALYZED,
        auto_remediation_enabled=True,
        suggested_actions=actions,
        resolution="Fix it on the lab.",
        confidence_score=0.95,
        reliability_score=95.0,
        decision_policy="lab-policy",
        pattern=PatternFactory(category=LAB_CATEGORY),
    )
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        execution_request(locked, acting_user=None, via="auto")
    return locked


def test_an_execution_without_its_events_is_found(submitter, lab_path):
    ticket = executable_ticket(
        submitter, "INC-EX", [action("reboot_instance", instance="app-instance-01")]
    )
    before_run = saved_anchor(stream(ticket))  # requested, not yet claimed
    assert execution_run(ticket.pk) == "succeeded"
    pending = executable_ticket(
        submitter, "INC-PENDING", [action("reboot_instance", instance="app-instance-02")]
    )
    audit_seal()
    assert verify() == ""  # a real run leaves everything the cross-checks ask for

    # The replay the seals cannot see (the rows are newer than the last seal)...
    for n in range(2):
        with transaction.atomic():
            audit(AuditAction.STATUS_CHANGED, f"later {n}", ticket=ticket)
    cut_back(stream(ticket), before_run)
    # ... and a pending execution whose request row was deleted, with its whole stream.
    tamper("DELETE FROM remediation_auditevent WHERE ticket_id = %s", [pending.pk])
    tamper("DELETE FROM remediation_auditanchor WHERE stream = %s", [stream(pending)])

    report = verify()
    execution = Execution.objects.get(ticket=ticket)
    assert f"{stream(ticket)}: execution {execution.key} (succeeded) has no execution.claimed" in (
        report
    )
    assert f"execution {execution.key} (succeeded) has no execution.finished event" in report
    assert (
        f"{stream(pending)}: execution INC-PENDING:1 (pending) has no execution.requested event"
    ) in report


def awaiting(user, ticket_id: str, system: str) -> Ticket:
    """A ticket made by intake, then decided into awaiting_approval."""
    ticket = ticket_create(
        TicketInput(
            ticket_id=ticket_id,
            title="Service down",
            description="Web service not responding",
            category="server",
            affected_system=system,  # one each: storm control would join them
            enable_auto_remediation=True,
        ),
        acting_user=user,
    ).ticket
    Ticket.objects.filter(pk=ticket.pk).update(
        status=TicketStatus.PROCESSING,
        resolution="Restart the web VM; the service comes back with it.",
        suggested_actions=[RESTART_VM],
        confidence_score=0.9,
        reliability_score=72.5,
        reliability_breakdown=BREAKDOWN,
        pattern=PatternFactory(
            category="server", eligible_for_auto_remediation=False, occurrence_count=3
        ),
    )
    ticket.refresh_from_db()
    decide(ticket)
    assert ticket.status == TicketStatus.AWAITING_APPROVAL, ticket.status_reason
    return ticket


def test_approval_decisions_without_their_events_are_found(submitter, seeded):
    policy("server")
    alice, bob = approver("alice"), approver("bob")
    with registry.use(LabDouble()):
        granted = awaiting(submitter, "INC-GRANT", "prod-web-01")
        rejected = awaiting(submitter, "INC-REJECT", "prod-web-02")
        expired = awaiting(submitter, "INC-EXPIRE", "prod-db-01")
    saved = {t.pk: saved_anchor(stream(t)) for t in (granted, rejected, expired)}
    approval_grant("INC-GRANT", acting_user=alice, comment="ok")
    approval_reject("INC-REJECT", acting_user=bob, comment="not now")
    assert approval_expire_due(now=timezone.now() + timedelta(days=30)) == 1
    assert verify() == ""

    for ticket in (granted, rejected, expired):
        cut_back(stream(ticket), saved[ticket.pk])
    report = verify()
    assert f"{stream(granted)}: approval decision" in report
    assert "by alice has no approval.granted event" in report
    assert "by bob has no approval.rejected event" in report
    assert f"{stream(expired)}: approval request" in report
    assert "(expired) has no approval.expired event" in report
    assert "execution INC-GRANT:1 (pending) has no execution.requested event" in report
    assert "seal" not in report  # nothing was sealed: only the cross-checks can tell


# --- The exit status, as a scheduler running the command sees it --------------------------


def test_the_command_exits_0_when_intact_and_1_when_not(submitter):
    ticket = ticket_with_events(submitter, "INC-1", 5)

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "verify_audit"],
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    intact = run()
    assert intact.returncode == 0, intact.stderr
    assert "Audit trail intact: 6 rows in 1 streams" in intact.stdout
    tamper("DELETE FROM remediation_auditevent WHERE ticket_id = %s", [ticket.pk])
    broken = run()
    assert broken.returncode == 1
    assert "none remain (the stream was deleted)" in broken.stdout
    assert "problem(s) in 0 audit rows" in broken.stderr


# --- An untampered trail under a concurrent flood ---------------------------------------


FLOOD_THREADS = 24
FLOOD_ROUNDS = 6


class Flood:
    """Each kind of audited event the flood writes, ``n`` its round."""

    def __init__(self, keys: dict[str, str], shared: Ticket, operator: Any) -> None:
        self.keys, self.shared, self.operator = keys, shared, operator

    def client(self, who: str | None) -> Any:
        from rest_framework.test import APIClient

        c = APIClient()
        if who is not None:
            c.credentials(HTTP_AUTHORIZATION=f"Token {self.keys[who]}")
        return c

    def slack_unsigned(self, n: int) -> None:
        r = self.client(None).post(
            "/integrations/slack/interactions",
            data=f"payload=%7B%22n%22%3A{n}%7D",
            content_type="application/x-www-form-urlencoded",
            HTTP_X_SLACK_REQUEST_TIMESTAMP=str(int(time.time())),
            HTTP_X_SLACK_SIGNATURE="v0=" + "0" * 64,
        )
        assert r.status_code == 401, r.status_code

    def kill_switch(self, n: int) -> None:
        body = {"paused": n % 2 == 0, "category": "server", "reason": f"flood {n}"}
        r = self.client("operator").put("/api/v1/kill-switch", body, format="json")
        assert r.status_code == 200, r.content[:200]

    def intake(self, n: int) -> None:
        r = self.client("submitter").post(
            "/api/v1/tickets",
            {
                "ticket_id": f"INC-FLOOD-{threading.get_ident()}-{n}",
                "title": "Service down",
                "description": f"Web service not responding on port 8080, round {n}",
                "category": "server",
            },
            format="json",
        )
        assert r.status_code in (200, 201), r.content[:200]

    def ticket_event(self, n: int) -> None:
        with transaction.atomic():
            audit(AuditAction.STATUS_CHANGED, f"flood {n}", ticket=self.shared)

    def system_event(self, n: int) -> None:
        with transaction.atomic():
            audit(AuditAction.CONFIG_CHANGED, f"flood {n}", acting_user=self.operator)

    def seal(self, n: int) -> None:
        audit_seal()

    def kinds(self) -> list[Any]:
        return [
            self.slack_unsigned,
            self.kill_switch,
            self.intake,
            self.ticket_event,
            self.system_event,
            self.seal,
        ]


def test_verify_audit_stays_green_under_a_concurrent_flood_of_every_audited_kind(
    submitter, settings
):
    """The second outside probe: concurrent unsigned Slack requests (each refusal audited)
    made verify_audit report "reordered" rows on a trail nobody touched, and exit 1 for
    good, because an event took its time before it waited for its stream's lock. Here
    threads write every kind of event at once, most of them to the same stream: unsigned
    Slack refusals, pauses and resumes of the kill switch, ticket intake, events of one
    ticket, and the sealer. Nothing is tampered with, so the trail must verify."""
    from remediation.accounts.models import ApiToken

    settings.SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_APPROVAL_CHANNEL = "C0APPROVALS"
    settings.THROTTLE_INTAKE_RATE = "off"
    operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    keys = {
        "operator": ApiToken.objects.create(user=operator, name="flood")[1],
        "submitter": ApiToken.objects.create(user=submitter, name="flood")[1],
    }
    kinds = Flood(keys, ticket_with_events(submitter, "INC-SHARED", 0), operator).kinds()
    barrier = threading.Barrier(FLOOD_THREADS)
    failures: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        kind = kinds[i % len(kinds)]
        try:
            barrier.wait(timeout=60)
            for n in range(FLOOD_ROUNDS):
                kind(n)
        except Exception as exc:  # reported below, with the others
            with lock:
                failures.append(f"{kind.__name__}: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(FLOOD_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures, failures
    assert AuditEvent.objects.filter(stream="system").count() >= FLOOD_THREADS
    assert verify() == ""
    audit_seal()
    assert verify() == ""
