"""``manage.py lab condition`` on a switch: the interface may be named two ways, and
without one the command says which interfaces there are and how to write it."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lab.state import LabState


@pytest.fixture
def lab_path(tmp_path, settings):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    return path


def _interface_condition(interface: str):
    out = io.StringIO()
    call_command("lab", "show", "core-sw-01", stdout=out)
    return json.loads(out.getvalue())["state"]["interfaces"][interface]["condition"]


def test_a_switch_condition_without_an_interface_shows_how_to_name_one(lab_path):
    with pytest.raises(CommandError) as caught:
        call_command("lab", "condition", "core-sw-01", "interface_errors", stdout=io.StringIO())

    message = str(caught.value)
    assert "core-sw-01 has Gi0/1, Gi0/2" in message
    assert "manage.py lab condition core-sw-01 interface_errors --interface Gi0/1" in message


@pytest.mark.parametrize(
    "args",
    [
        ["core-sw-01", "interface_errors", "--interface", "Gi0/2"],
        ["core-sw-01 Gi0/2", "interface_errors"],
    ],
)
def test_a_switch_condition_is_staged_on_the_named_interface(lab_path, args):
    call_command("lab", "condition", *args, stdout=io.StringIO())

    assert _interface_condition("Gi0/2") == "interface_errors"
    assert _interface_condition("Gi0/1") is None
