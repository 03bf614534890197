"""A connector's tool map cannot route a write around the choke point.

The probe stored ``{"safe_to_act": "reset_lab"}`` in a connector row, and the decision's
health check then reset the lab. A read role maps only to a tool the project's registry
knows as read-only, an operation only to its own write tool: the admin refuses anything
else, and the connector refuses at call time (a row written past the admin), before
anything reaches the server.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from lab.state import LabState
from remediation.catalogue.rules.operations import SuggestedAction
from remediation.connectors.mcp import ConnectorError
from remediation.connectors.mcp_connector import McpConnector
from remediation.connectors.models import PlatformConnector
from tests.support.execution import action, lab_writes
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab_path(tmp_path, settings):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    return path


@pytest.fixture
def admin_client(client, seeded):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def form_of(row: PlatformConnector, **changes) -> dict[str, str]:
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
    data.update({k: json.dumps(v) if not isinstance(v, str) else v for k, v in changes.items()})
    return data


@pytest.mark.parametrize(
    ("tool_map", "message"),
    [
        ({"safe_to_act": "reset_lab"}, "not a read-only tool"),
        ({"safe_to_act": "restart_vm"}, "not a read-only tool"),
        ({"post_check": "delete_everything"}, "not a read-only tool"),
        ({"restart_vm": "get_vm"}, "not restart_vm&#x27;s own write tool"),
        ({"restart_vm": "snapshot_vm"}, "not restart_vm&#x27;s own write tool"),
        ({"restart_vm": "reset_lab"}, "not restart_vm&#x27;s own write tool"),
        ({"restart_vm": "vm_reset", "snapshot_vm": "vm_reset"}, "already the tool of"),
    ],
)
def test_the_admin_refuses_a_map_around_the_choke_point(admin_client, tool_map, message):
    row = PlatformConnector.objects.get(platform="vmware")
    url = reverse("admin:remediation_platformconnector_change", args=[row.pk])
    answer = admin_client.post(url, form_of(row, tool_map=tool_map))
    assert answer.status_code == 200  # the form again, with the error
    assert message in answer.content.decode()
    row.refresh_from_db()
    assert row.tool_map == {}


def test_the_admin_accepts_a_real_servers_own_names(admin_client, settings):
    settings.EXTRA_READ_ONLY_TOOLS = ("vcenter_check_safe",)
    row = PlatformConnector.objects.get(platform="vmware")
    url = reverse("admin:remediation_platformconnector_change", args=[row.pk])
    tool_map = {"safe_to_act": "vcenter_check_safe", "restart_vm": "vm_power_reset"}
    answer = admin_client.post(url, form_of(row, tool_map=tool_map))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    row.refresh_from_db()
    assert row.tool_map == tool_map


def test_the_admin_refuses_an_investigation_tool_outside_the_registry(admin_client):
    row = PlatformConnector.objects.get(platform="vmware")
    url = reverse("admin:remediation_platformconnector_change", args=[row.pk])
    tools = [{"kind": "vm", "tool": "reset_lab", "args": {}}]
    answer = admin_client.post(url, form_of(row, investigation_tools=tools))
    assert "not a read-only tool this project knows" in answer.content.decode()
    row.refresh_from_db()
    assert all(e["tool"] != "reset_lab" for e in row.investigation_tools)


@pytest.mark.parametrize("tool", ["reset_lab", "restart_vm"])
def test_a_row_written_past_the_admin_fails_closed_and_writes_nothing(seeded, lab_path, tool):
    """The health check over the real stdio lab: refused before the call leaves."""
    PlatformConnector.objects.filter(platform="vmware").update(tool_map={"safe_to_act": tool})
    connector = McpConnector(PlatformConnector.objects.get(platform="vmware"))
    act = SuggestedAction.from_dict(action("restart_vm", vm="prod-web-01"))
    with pytest.raises(ConnectorError, match="tool_map refused"):
        connector.system_healthy(act)
    assert lab_writes(lab_path) == []
