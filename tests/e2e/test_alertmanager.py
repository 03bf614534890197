"""A real Alertmanager (Debian's prometheus-alertmanager) delivers to a live server.

Alerts are posted to Alertmanager's own API (``amtool alert add`` and the v2 API); its
webhook receiver, authenticated with ``Authorization: Token <key>``, calls our endpoint;
tickets appear with the mapped fields, and a resolution reaches the ticket.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from remediation.accounts.models import ApiToken
from remediation.alerts.models import AlertRecord
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket
from tests.support.dbutil import start_manage, stop, wait_for
from tests.support.factories import UserFactory
from tests.support.servers import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
AMTOOL = shutil.which("amtool")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (ALERTMANAGER and AMTOOL), reason="needs Debian's prometheus-alertmanager package"
    ),
]

CONFIG = """
global:
  resolve_timeout: 1m
route:
  receiver: auto-remediation
  group_by: ["alertname", "instance"]
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


def http(url: str, body: object | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except OSError:
        return 0, b""


def start_alertmanager(
    tmp_path: Path, *, port: int, app_port: int, token: str, template: str = CONFIG
):
    config = tmp_path / "alertmanager.yml"
    config.write_text(template.format(port=app_port, token=token))
    check = subprocess.run(
        [AMTOOL, "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    return subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=(tmp_path / "alertmanager.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.django_db(transaction=True)
def test_a_real_alertmanager_delivers_alerts_and_their_resolution(seeded, tmp_path):
    alertmanager = UserFactory(username="alertmanager")
    _, token = ApiToken.objects.create(user=alertmanager, name="alertmanager")
    app_port, am_port = free_port(), free_port()
    app = start_manage(
        "runserver", f"127.0.0.1:{app_port}", "--noreload", log=tmp_path / "server.log"
    )
    am = None
    try:
        assert wait_for(lambda: http(f"http://127.0.0.1:{app_port}/healthz")[0] == 200, 60), (
            tmp_path / "server.log"
        ).read_text(errors="replace")[-3000:]
        am = start_alertmanager(tmp_path, port=am_port, app_port=app_port, token=token)
        am_url = f"http://127.0.0.1:{am_port}"
        assert wait_for(lambda: http(f"{am_url}/-/ready")[0] == 200, 60), (
            tmp_path / "alertmanager.log"
        ).read_text(errors="replace")[-3000:]

        # One alert through amtool, one through Alertmanager's v2 API.
        added = subprocess.run(
            [
                AMTOOL,
                f"--alertmanager.url={am_url}",
                "alert",
                "add",
                "alertname=InstanceDown",
                "instance=prod-web-01:9100",
                "severity=critical",
                "job=node",
                "--annotation=summary=Service down on the web server",
                "--annotation=description=Web service not responding on port 8080",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert added.returncode == 0, added.stdout + added.stderr
        pod_alert = {
            "labels": {
                "alertname": "KubePodCrashLooping",
                "namespace": "shop",
                "pod": "checkout",
                "severity": "warning",
            },
            "annotations": {"summary": "Pod is crash looping"},
            "startsAt": datetime.now(UTC).isoformat(),
        }
        assert http(f"{am_url}/api/v2/alerts", [pod_alert])[0] == 200

        def both_tickets():
            tickets = list(Ticket.objects.filter(source="alertmanager").order_by("affected_system"))
            return tickets if len(tickets) == 2 else None

        tickets = wait_for(both_tickets, 60)
        logs = (tmp_path / "alertmanager.log").read_text(errors="replace")[-3000:]
        assert tickets, f"no tickets; alertmanager log:\n{logs}"
        web, pod = tickets
        assert (web.affected_system, web.category, web.severity) == (
            "prod-web-01",
            "server",
            "critical",
        )
        assert web.title == "InstanceDown: Service down on the web server"
        assert "Web service not responding on port 8080" in web.description
        assert web.submitted_by.username == "alertmanager"
        assert web.auto_remediation_enabled is False
        assert (pod.affected_system, pod.category, pod.severity) == (
            "shop/checkout",
            "kubernetes",
            "medium",
        )
        # Our record of each alert carries Alertmanager's own fingerprint.
        _, raw = http(f"{am_url}/api/v2/alerts")
        fingerprints = {a["labels"]["alertname"]: a["fingerprint"] for a in json.loads(raw)}
        assert AlertRecord.objects.get(ticket=web).fingerprint == fingerprints["InstanceDown"]
        assert web.ticket_id.startswith(f"am-{fingerprints['InstanceDown']}-")

        # Resolve the web alert at Alertmanager: same labels, an end time in the past.
        resolved = {
            "labels": {
                "alertname": "InstanceDown",
                "instance": "prod-web-01:9100",
                "severity": "critical",
                "job": "node",
            },
            "endsAt": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        }
        assert http(f"{am_url}/api/v2/alerts", [resolved])[0] == 200

        def resolution_noted():
            ticket = Ticket.objects.get(pk=web.pk)
            return ticket if ticket.alert_resolved_at is not None else None

        ticket = wait_for(resolution_noted, 60)
        logs = (tmp_path / "alertmanager.log").read_text(errors="replace")[-3000:]
        assert ticket is not None, f"resolution never arrived; alertmanager log:\n{logs}"
        assert AlertRecord.objects.get(ticket=web).status == "resolved"
        assert AuditEvent.objects.filter(ticket=web, action=AuditAction.ALERT_RESOLVED).exists()
        assert Ticket.objects.get(pk=pod.pk).alert_resolved_at is None
        # Alertmanager keeps re-sending nothing twice as a new ticket.
        assert Ticket.objects.filter(source="alertmanager").count() == 2
    finally:
        if am is not None:
            stop(am)
        stop(app)
