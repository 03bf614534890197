"""Hardening from the second outside probe, each through the public interface (API, pages,
admin, the choke point), each found live against a production-shaped deployment."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from lab.state import LabState
from policies.models import AutoRemediationPolicy, RemediationPause
from remediation.tickets.models import Ticket, TicketStatus
from remediation.tickets.services import TicketInput, ticket_create
from tests.support.execution import LAB_CATEGORY, action, approved_ticket, lab_policy, lab_writes
from tests.support.factories import UserFactory
from tests.support.queue import drain

pytestmark = pytest.mark.django_db

KILL_SWITCH = "/api/v1/kill-switch"


@pytest.fixture
def lab_path(tmp_path, settings):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 1000
    return path


@pytest.fixture
def policy(db, seeded):
    return lab_policy()


@pytest.fixture
def oncall():
    person = UserFactory(username="oncall")
    person.user_permissions.add(Permission.objects.get(codename="pause_remediation"))
    return person


@pytest.fixture
def admin_client(client, seeded):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


# --- 1. A pause typed in capitals stops nothing ----------------------------------------------


def test_a_pause_typed_in_capitals_stops_an_approved_ticket_of_that_category(
    lab_path, policy, client_for, oncall
):
    r = client_for(oncall).put(
        KILL_SWITCH,
        {"paused": True, "category": LAB_CATEGORY.upper(), "reason": "hands off"},
        format="json",
    )
    assert r.status_code == 200, r.content
    # The answer echoes what the pause matches: the category as tickets store it.
    assert r.json()["applied"]["category"] == LAB_CATEGORY
    assert "policy lab-policy" in r.json()["applied"]["matches"]
    assert [p["category"] for p in r.json()["paused"]] == [LAB_CATEGORY]

    ticket = approved_ticket([action("restart_vm", vm="prod-web-05")])  # category "lab"
    drain()  # the real choke point claims it
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.MANUAL_REVIEW
    assert f"paused for category {LAB_CATEGORY} by oncall" in ticket.status_reason
    assert lab_writes(lab_path) == []


def test_a_resume_in_capitals_lifts_the_pause(lab_path, policy, client_for, oncall):
    client = client_for(oncall)
    body = {"paused": True, "category": "lab", "reason": "x"}
    assert client.put(KILL_SWITCH, body, format="json").status_code == 200
    r = client.put(KILL_SWITCH, {"paused": False, "category": "LaB"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["paused"] == [] and r.json()["applied"]["changed"] is True
    approved_ticket([action("restart_vm", vm="prod-web-05")])
    drain()
    assert len(lab_writes(lab_path)) == 1


def test_a_pause_of_a_category_nothing_names_is_refused_unless_asked_for(
    seeded, client_for, oncall
):
    client = client_for(oncall)
    r = client.put(
        KILL_SWITCH, {"paused": True, "category": "netwrok", "reason": "typo"}, format="json"
    )
    assert r.status_code == 400
    [message] = r.json()["error"]["fields"]["category"]
    assert "would stop nothing" in message and "Did you mean network" in message
    assert not RemediationPause.objects.exists()
    r = client.put(
        KILL_SWITCH,
        {"paused": True, "category": "NEWTHING", "reason": "ahead", "allow_unknown_category": True},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["applied"] == {
        "paused": True,
        "category": "newthing",
        "matches": [],
        "changed": True,
    }


def test_every_way_a_category_enters_stores_it_lowercase(seeded, user, admin_client):
    # The ticket service (whoever calls it), not only the API.
    ticket = ticket_create(
        TicketInput(ticket_id="CAT-1", title="t", description="d", category=" Cache "),
        acting_user=user,
    ).ticket
    assert Ticket.objects.get(pk=ticket.pk).category == "cache"
    # A pause written by any code is the pause tickets are compared with.
    RemediationPause.objects.create(category="STORAGE", reason="x")
    assert RemediationPause.objects.get().category == "storage"
    # A policy edited in the admin.
    policy = AutoRemediationPolicy.objects.get(category="cache")
    assert AutoRemediationPolicy.objects.filter(category="CACHE").get() == policy


def test_the_pause_admin_refuses_a_category_nothing_names(admin_client):
    r = admin_client.post(
        "/admin/policies/remediationpause/add/", {"category": "Netwrok", "reason": "typo"}
    )
    assert r.status_code == 200 and b"would stop nothing" in r.content
    assert not RemediationPause.objects.exists()
    r = admin_client.post(
        "/admin/policies/remediationpause/add/", {"category": "NETWORK", "reason": "bridge"}
    )
    assert r.status_code == 302
    assert RemediationPause.objects.get().category == "network"


def test_the_policy_admin_stores_lowercase_and_flags_a_category_nothing_names(admin_client):
    r = admin_client.get("/admin/policies/autoremediationpolicy/add/")
    form = r.context["adminform"].form
    data = {
        name: form[name].value() if form[name].value() is not None else "" for name in form.fields
    }
    data.update(
        {
            "name": "typo-policy",
            "category": "DataBase",
            "allowed_action_types": ["safe_write"],
            "allowed_systems": ["vmware"],
            "allowed_days": ["monday"],
        }
    )
    data = {k: v for k, v in data.items() if v is not False}
    r = admin_client.post("/admin/policies/autoremediationpolicy/add/", data, follow=True)
    assert r.status_code == 200, r.content[:2000]
    assert AutoRemediationPolicy.objects.get(name="typo-policy").category == "database"
    assert b"governs no ticket until one does" in r.content


# --- 3. An admin can make the system hand out its secrets -----------------------------------


class Recorder:
    """A local HTTP server that answers 404 to everything and keeps each request's headers:
    what an arbitrary URL an admin typed would receive."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                seen.append({"headers": dict(self.headers), "body": self.rfile.read(length)})
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_DELETE = _any

            def log_message(self, *args):
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mcp"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.close()


def connector_form(row, **changes) -> dict[str, str]:
    import json

    data = {
        "platform": row.platform,
        "name": row.name,
        "transport": row.transport,
        "command": row.command,
        "args": json.dumps(row.args),
        "env": json.dumps(row.env),
        "url": row.url,
        "tool_map": json.dumps(row.tool_map),
        "investigation_tools": json.dumps(row.investigation_tools),
        "token_env": row.token_env,
        "timeout_seconds": str(row.timeout_seconds),
    }
    if row.simulated:
        data["simulated"] = "on"
    if row.enabled:
        data["enabled"] = "on"
    data.update(changes)
    return data


PROJECT_SECRETS = ["SECRET_KEY", "DATABASE_URL", "SLACK_SIGNING_SECRET", "ANTHROPIC_API_KEY",
                   "AUDIT_HMAC_KEY", "EMAIL_URL", "PGPASSWORD", "secret_key"]  # fmt: skip


@pytest.mark.parametrize("name", PROJECT_SECRETS)
def test_the_connector_admin_refuses_a_secret_of_the_project_as_its_token(admin_client, name):
    from django.urls import reverse

    from remediation.connectors.models import PlatformConnector

    row = PlatformConnector.objects.get(platform="vmware")
    url = reverse("admin:remediation_platformconnector_change", args=[row.pk])
    answer = admin_client.post(
        url, connector_form(row, transport="http", url="http://127.0.0.1:9/mcp", token_env=name)
    )
    assert answer.status_code == 200  # the form again, with the error
    text = answer.content.decode()
    assert "is a secret of this system itself" in text or (
        "Not an environment variable name" in text  # lowercase: not a name at all
    )
    row.refresh_from_db()
    assert row.token_env != name


def test_a_connector_row_naming_a_secret_sends_nothing_anywhere(seeded, recorder, settings):
    """Written past the admin (the shell, a migration): refused again at use time."""
    from remediation.catalogue.rules.operations import SuggestedAction
    from remediation.connectors.mcp import ConnectorError
    from remediation.connectors.mcp_connector import McpConnector
    from remediation.connectors.models import PlatformConnector

    PlatformConnector.objects.filter(platform="vmware").update(
        transport="http", url=recorder.url, token_env="SECRET_KEY", simulated=False
    )
    connector = McpConnector(PlatformConnector.objects.get(platform="vmware"))
    act = SuggestedAction.from_dict(action("restart_vm", vm="prod-web-01"))
    with pytest.raises(ConnectorError, match="token_env refused"):
        connector.system_healthy(act)
    assert recorder.seen == []
    assert settings.SECRET_KEY not in repr(connector.spec)


def test_a_connectors_token_goes_only_to_its_own_endpoint(seeded, recorder, monkeypatch):
    """A connector with its own token, pointed (through the admin) at a server that sends
    the client elsewhere: the token reaches its endpoint and nothing else."""
    import httpx2

    from remediation.connectors.mcp import OwnEndpointBearer

    monkeypatch.setenv("VCENTER_MCP_TOKEN", "tok-" + "7" * 40)
    auth = OwnEndpointBearer("tok-" + "7" * 40, recorder.url)
    with httpx2.Client(auth=auth) as client:
        client.get(recorder.url)
        client.get(recorder.url.replace("127.0.0.1", "localhost"))  # another origin
    own, other = recorder.seen
    assert own["headers"].get("Authorization") == "Bearer tok-" + "7" * 40
    assert "Authorization" not in other["headers"]


def test_connector_edits_are_in_the_audit_chain(admin_client):
    from django.urls import reverse

    from remediation.audit.models import AuditAction, AuditEvent
    from remediation.connectors.models import PlatformConnector

    row = PlatformConnector.objects.get(platform="vmware")
    url = reverse("admin:remediation_platformconnector_change", args=[row.pk])
    answer = admin_client.post(url, connector_form(row, timeout_seconds="12.5"))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    event = AuditEvent.objects.get(action=AuditAction.CONFIG_CHANGED)
    assert event.details["model"] == "remediation.PlatformConnector"
    assert event.details["changes"]["timeout_seconds"] == ["10.0", "12.5"]
    assert event.hash and event.stream == "system"


@pytest.mark.parametrize("name", PROJECT_SECRETS)
def test_the_channel_admin_refuses_a_secret_of_the_project_as_its_url(admin_client, name):
    from remediation.notifications.models import NotificationChannel

    answer = admin_client.post(
        "/admin/remediation/notificationchannel/add/",
        {"name": "ops", "url_env": name, "on_approval_needed": "on", "enabled": "on"},
    )
    assert answer.status_code == 200
    assert "secret of this system itself" in answer.content.decode() or (
        "An environment variable name" in answer.content.decode()  # lowercase: not a name
    )
    assert not NotificationChannel.objects.exists()


def test_a_channel_row_naming_a_secret_never_writes_it_to_the_web_log(admin_client, settings):
    """The probe's channel named SECRET_KEY: its test message wrote the key in clear to
    the log (the library echoed the "URL" it could not parse). Refused before it is read;
    and a secret's value is blanked out of any line that still carries it."""
    import io
    import logging

    from config.logs import TextFormatter
    from remediation.notifications.models import NotificationChannel

    settings.SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
    channel = NotificationChannel.objects.create(name="leak", url_env="SECRET_KEY")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        answer = admin_client.post(
            "/admin/remediation/notificationchannel/",
            {"action": "send_test", "_selected_action": [channel.pk]},
        )
        logging.getLogger("apprise").error(
            "Unparseable URL %s %s", settings.SECRET_KEY, settings.SLACK_SIGNING_SECRET
        )
    finally:
        root.removeHandler(handler)
    [told] = [str(m) for m in answer.wsgi_request._messages]
    assert told.startswith("leak: refused: SECRET_KEY is a secret of this system itself")
    log = stream.getvalue()
    assert "Unparseable URL [redacted] [redacted]" in log
    assert settings.SECRET_KEY not in log and settings.SLACK_SIGNING_SECRET not in log


def test_every_variable_the_settings_read_is_classified():
    """A new setting must be classified as a secret or not, so that no secret the project
    reads can be borrowed as a connector's or a channel's credential."""
    import re
    from pathlib import Path

    from config.secrets import PLAIN_SETTINGS, SECRET_SETTINGS, reserved_env_problem

    source = (Path(__file__).parents[2] / "config" / "settings.py").read_text()
    read = set(re.findall(r'(?:env\.\w+|_bool|_number|_choice)\(\s*"([A-Z][A-Z0-9_]*)"', source))
    assert len(read) > 30
    assert read - SECRET_SETTINGS - PLAIN_SETTINGS == set()
    assert all(reserved_env_problem(name) for name in read)
    assert reserved_env_problem("LAB_TOKEN") is None  # a connector's own credential


# --- 4. No 5xx anywhere; Slack's control sequences; a category with no policy ----------------


BAD_VALUES = ["\x00", "a\x00b", "9" * 25, "x" * 300, "-1", "..%2f..", "%ff", "\u202e"]
BAD_HEADERS = [
    {"HTTP_AUTHORIZATION": "Token \x00"},
    {"HTTP_AUTHORIZATION": "Token " + "a" * 5000},
    {"HTTP_AUTHORIZATION": "Bearer"},
    {"HTTP_AUTHORIZATION": "Basic !!!"},
    {"CONTENT_TYPE": "application/json; charset=nonsense"},
    {"CONTENT_TYPE": "multipart/form-data"},  # no boundary
    {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "not-a-number", "HTTP_X_SLACK_SIGNATURE": "v0=00"},
    {"HTTP_X_SLACK_REQUEST_TIMESTAMP": "1" * 5000, "HTTP_X_SLACK_SIGNATURE": "v0=00"},
    {"HTTP_X_HUGE": "h" * 65536},
]


def every_route() -> list[str]:
    """Every URL pattern of the project as a route with ``{}`` where a parameter goes."""
    import re

    from django.urls import URLPattern, URLResolver, get_resolver

    routes: list[str] = []

    def text(pattern) -> str:
        raw = str(pattern.pattern)
        raw = re.sub(r"<[^>]+>", "{}", raw)  # route converters
        raw = re.sub(r"\(\?P<\w+>[^)]*\)", "{}", raw)  # regex groups
        raw = raw.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
        return re.sub(r"[()?*+]", "", raw)

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + text(p))
            elif isinstance(p, URLPattern):
                routes.append(prefix + text(p))

    walk(get_resolver().url_patterns, "/")
    return sorted(set(routes))


def fill(route: str, value: str) -> str:
    from urllib.parse import quote

    return route.replace("{}", quote(value, safe="%"))


def test_no_url_of_the_project_answers_5xx_to_bad_values_or_headers(seeded, user, settings):
    """Every URL pattern, its parameters filled with a NUL byte and other bad values, GET
    and POST, anonymous and as an ordinary user; then each with bad headers. The probe
    found 500s at /api/v1/reviews/…, /reviews/…, /approvals/requests/… (a NUL on
    PostgreSQL) and at the Slack endpoint (a malformed timestamp)."""
    from django.test import Client

    settings.SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_APPROVAL_CHANNEL = "C0APPROVALS"
    anon = Client(raise_request_exception=False)
    member = Client(raise_request_exception=False)
    member.force_login(user)
    routes = every_route()
    assert "/integrations/slack/interactions" in routes and len(routes) > 50
    server_errors: list[str] = []

    def probe(client, method: str, path: str, **headers) -> None:
        send = client.get if method == "GET" else client.post
        r = send(path, **headers)
        if r.status_code >= 500:
            server_errors.append(f"{method} {path[:80]!r} {sorted(headers)} -> {r.status_code}")

    for route in routes:
        paths = [fill(route, v) for v in BAD_VALUES] if "{}" in route else [route]
        for path in paths:
            for client in (anon, member):
                probe(client, "GET", path)
                probe(client, "POST", path)
        for headers in BAD_HEADERS:
            probe(anon, "POST", fill(route, "1"), **headers)
            probe(member, "GET", fill(route, "1"), **headers)
    assert server_errors == []


def test_a_nul_byte_in_a_path_or_query_is_refused_before_any_view(user, client_for):
    """The probe's 500s (PostgreSQL cannot hold a NUL): as staff, who reach those views."""
    from django.test import Client

    browser = Client(raise_request_exception=False)
    browser.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    for path in (
        "/api/v1/reviews/%00/take",
        "/api/v1/reviews/a%00b/close",
        "/reviews/a%00b/",
        "/approvals/requests/%00/",
        "/approvals/requests/a%00b/status",
    ):
        answers = {method: browser.generic(method, path).status_code for method in ("GET", "POST")}
        assert answers == {"GET": 404, "POST": 404}, (path, answers)
    r = client_for(user).get("/api/v1/tickets?category=%00")
    assert r.status_code == 400 and "category" in r.json()["error"]["fields"]


def test_the_slack_endpoint_answers_4xx_to_a_malformed_timestamp(seeded, settings, mailoutbox):
    from django.test import Client

    from remediation.audit.models import AuditAction, AuditEvent

    settings.SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
    settings.SLACK_BOT_TOKEN = "xoxb-test-token"
    settings.SLACK_APPROVAL_CHANNEL = "C0APPROVALS"
    settings.ADMINS = [("ops", "ops@example.com")]
    for stamp in ("not-a-number", "1e9", " 12", "1" * 40, "-5"):
        r = Client(raise_request_exception=False).post(
            "/integrations/slack/interactions",
            data="payload=%7B%7D",
            content_type="application/x-www-form-urlencoded",
            HTTP_X_SLACK_REQUEST_TIMESTAMP=stamp,
            HTTP_X_SLACK_SIGNATURE="v0=" + "0" * 64,
        )
        assert r.status_code == 401, (stamp, r.status_code)
        assert "timestamp" in r.json()["text"]
    assert mailoutbox == []  # no server error mailed to the administrators
    assert AuditEvent.objects.filter(action=AuditAction.SLACK_REFUSED).count() == 5


# --- 5. A scope as the affected system does not let the words choose the target --------------


@pytest.fixture
def k8s_lab(investigating):
    from remediation.connectors import registry
    from tests.support.doubles import LabDouble

    with registry.use(LabDouble(conditions={"default/web": "bad_release"})):
        yield


def submit(api, drain_queue, ticket_id: str, affected: str) -> dict:
    body = {
        "ticket_id": ticket_id,
        "title": "web crashlooping since the rollout",
        "description": (
            "Deployment default/web is crashlooping since the rollout of v2.4 (bad release); "
            "roll back deployment default/web to the previous revision."
        ),
        "category": "kubernetes",
        "affected_system": affected,
        "enable_auto_remediation": True,
    }
    answer = api.post("/api/v1/tickets", body, format="json")
    assert answer.status_code == 201, answer.json()
    drain_queue()
    return api.get(f"/api/v1/tickets/{ticket_id}").json()


@pytest.mark.parametrize("scope", ["cluster/k8s-prod", "k8s-prod", "namespace/default"])
def test_a_cluster_or_namespace_ticket_takes_no_target_from_its_text(
    seeded, api, drain_queue, k8s_lab, scope
):
    # The same words about the deployment itself propose the rollback: the words suffice...
    named = submit(api, drain_queue, "INC-SCOPE-OBJECT", "default/web")
    assert {(a["operation"], a["system"]) for a in named["suggested_actions"]} == {
        ("rollback_deployment", "default/web")
    }
    # ...but a ticket about a whole cluster or namespace does not let them pick its target.
    body = submit(api, drain_queue, "INC-SCOPE", scope)
    assert body["suggested_actions"] == []
    assert body["auto_remediation_executed"] is False


@pytest.fixture
def lab_double():
    from remediation.connectors import registry
    from tests.support.doubles import LabDouble

    with registry.use(LabDouble()):
        yield


def no_policy_ticket(user, ticket_id: str, actions: list[dict], category: str = "anything-goes"):
    from tests.support.approvals import BREAKDOWN
    from tests.support.deciding import decide
    from tests.support.factories import PatternFactory, TicketFactory

    ticket = TicketFactory(
        ticket_id=ticket_id,
        submitted_by=user,
        category=category,
        status=TicketStatus.PROCESSING,
        auto_remediation_enabled=True,
        resolution="Expand the volume; the database needs the room.",
        suggested_actions=actions,
        confidence_score=0.99,
        reliability_score=99.0,
        reliability_breakdown=BREAKDOWN,
        pattern=PatternFactory(category=category, eligible_for_auto_remediation=True),
    )
    decide(ticket)
    return ticket


def test_a_category_with_no_policy_is_never_looser_than_the_strictest_default(
    seeded, user, lab_double
):
    """The submitter chooses the category: one with no policy once let one approver run
    anything (a critical action, any platform, any word). Now only what the strictest
    default allows can even wait for a person there (docs/decisions.md)."""
    from tests.support.factories import EXPAND_VOLUME, RESTART_VM

    critical = no_policy_ticket(user, "NOPOL-CRIT", [EXPAND_VOLUME])
    assert critical.status == TicketStatus.MANUAL_REVIEW
    assert critical.remediation_decision["allowed"] is False
    assert "needs a policy for its category" in critical.status_reason
    from remediation.approvals.models import ApprovalRequest

    assert not ApprovalRequest.objects.filter(ticket=critical).exists()

    # A safe write still waits for a person's approval, as the global default says.
    safe = no_policy_ticket(user, "NOPOL-SAFE", [RESTART_VM])
    assert safe.status == TicketStatus.AWAITING_APPROVAL
