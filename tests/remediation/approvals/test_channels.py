"""Chat and webhook channels through Apprise: a real local webhook server receives what a
channel is sent (Apprise's ``json://``), per policy and per event; the e-mail carries the
same message as text and HTML, from templates."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.db import transaction

from remediation.approvals.models import ApprovalRequest
from remediation.audit.models import AuditAction, AuditEvent
from remediation.notifications.models import AdminEvent, NotificationChannel
from remediation.notifications.services import admins_notify_later
from tests.support.approvals import approver, awaiting_ticket, policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook():
    """A webhook receiver on a free local port: every POST body it got, decoded."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            received.append(
                {"path": self.path, "body": json.loads(self.rfile.read(length) or b"{}")}
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ops_room(webhook, monkeypatch):
    port, received = webhook
    monkeypatch.setenv("NOTIFY_OPS_URL", f"json://127.0.0.1:{port}/ops")
    channel = NotificationChannel.objects.create(name="ops room", url_env="NOTIFY_OPS_URL")
    return channel, received


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ADMINS = [("Ops", "ops@example.com")]


def test_an_approval_request_reaches_the_channel_and_the_mail_has_html(
    lab, user, drain_queue, ops_room
):
    _, received = ops_room
    approver("carol", email="carol@example.com")
    ticket = awaiting_ticket(user)
    assert received == []  # nothing before the commit
    drain_queue()

    [post] = received
    assert post["path"] == "/ops"
    assert ticket.ticket_id in post["body"]["title"] and "Approval needed" in post["body"]["title"]
    assert "restart_vm</b> on <b>prod-web-01" in post["body"]["message"]
    assert f"/approvals/requests/{ticket.ticket_id}/" in post["body"]["message"]
    [message] = mail.outbox
    assert "Will run: restart_vm on prod-web-01" in message.body
    [(html, kind)] = message.alternatives
    assert kind == "text/html" and "<a href=" in html
    event = AuditEvent.objects.get(action=AuditAction.CHANNELS_NOTIFIED, ticket=ticket)
    assert event.details["results"] == {"ops room": "sent"}

    # A second delivery of the task tells nobody again.
    from remediation.approvals.tasks import notify_approvers

    request = ApprovalRequest.objects.get(ticket=ticket)
    assert notify_approvers(request.pk) == "skipped: already notified"
    assert len(received) == 1


def test_a_channel_hears_only_its_policies_categories(lab, user, drain_queue, ops_room):
    channel, received = ops_room
    channel.policies.add(policy("network"))
    awaiting_ticket(user)  # category server
    drain_queue()
    assert received == []
    channel.policies.add(policy("server"))
    awaiting_ticket(user, ticket_id="SECOND-1")
    drain_queue()
    assert len(received) == 1


def test_a_channel_off_for_approvals_hears_only_problems(lab, user, drain_queue, ops_room):
    channel, received = ops_room
    channel.on_approval_needed = False
    channel.save()
    ticket = awaiting_ticket(user)
    drain_queue()
    assert received == []
    owed = {"key": f"test:{ticket.pk}", "subject": "rolled back", "detail": "step 2 <failed>"}
    with transaction.atomic():
        admins_notify_later(ticket, AdminEvent.ROLLED_BACK, **owed)
    drain_queue()
    [post] = received
    assert "rolled back" in post["body"]["title"]
    assert "step 2 &lt;failed&gt;" in post["body"]["message"]  # escaped in the HTML
    assert "step 2 <failed>" in mail.outbox[-1].body  # and plain in the text


def test_a_channel_whose_url_is_not_set_is_skipped_and_says_so(lab, user, drain_queue, monkeypatch):
    monkeypatch.delenv("NOTIFY_NOWHERE_URL", raising=False)
    NotificationChannel.objects.create(name="nowhere", url_env="NOTIFY_NOWHERE_URL")
    ticket = awaiting_ticket(user)
    drain_queue()
    event = AuditEvent.objects.get(action=AuditAction.CHANNELS_NOTIFIED, ticket=ticket)
    assert event.details["results"] == {"nowhere": "not configured (NOTIFY_NOWHERE_URL is not set)"}


def test_a_channel_that_does_not_answer_does_not_stop_the_mail(lab, user, drain_queue, monkeypatch):
    monkeypatch.setenv("NOTIFY_DEAD_URL", "json://127.0.0.1:9/dead")  # nothing listens there
    NotificationChannel.objects.create(name="dead", url_env="NOTIFY_DEAD_URL")
    approver("carol", email="carol@example.com")
    ticket = awaiting_ticket(user)
    drain_queue()
    assert len(mail.outbox) == 1
    event = AuditEvent.objects.get(action=AuditAction.CHANNELS_NOTIFIED, ticket=ticket)
    assert event.details["results"]["dead"].startswith("failed")


def test_the_admin_sends_a_test_message_and_refuses_a_bad_variable_name(client, ops_room):
    from tests.support.factories import UserFactory

    channel, received = ops_room
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    r = client.post(
        "/admin/remediation/notificationchannel/",
        {"action": "send_test", "_selected_action": [channel.pk]},
    )
    assert r.status_code == 302
    assert [str(m) for m in r.wsgi_request._messages] == ["ops room: sent"]
    assert received[-1]["body"]["title"] == "[Auto-remediation] Test message"
    r = client.post(
        "/admin/remediation/notificationchannel/add/",
        {"name": "bad", "url_env": "not a name", "on_problem": "on", "enabled": "on"},
    )
    assert r.status_code == 200 and b"An environment variable name" in r.content
    assert not NotificationChannel.objects.filter(name="bad").exists()
