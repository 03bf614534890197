"""manage.py check_connector: the lab's connectors over MCP (a real lab process, stdio) asked
about known objects; what mapped, what did not, what is unexpected; non-zero when nothing
maps."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from lab.state import LabState
from remediation.connectors.models import PlatformConnector
from tests.support.execution import stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab_state(settings, seeded):
    LabState(settings.LAB_STATE_PATH).reset()
    return settings.LAB_STATE_PATH


def check(*args: str) -> dict:
    out = StringIO()
    call_command("check_connector", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_lab_pod_profile_maps_what_the_lab_shows(lab_state):
    stage(lab_state, condition=("default/web-7d9f", "oom_killed"))
    report = check("kubernetes", "--object", "pod=default/web-7d9f")
    pod = next(k for k in report["kinds"] if k["kind"] == "pod")
    assert pod["object"] == "default/web-7d9f"
    assert pod["mapped"]["pod.last_terminated_reason"] == "OOMKilled"
    assert pod["mapped"]["pod.owner"] == "default/web"
    assert pod["errors"] == {}
    deployment = next(k for k in report["kinds"] if k["kind"] == "deployment")
    assert deployment["object"] == "default/web"  # the profile's example
    assert deployment["mapped"]["deployment.replicas"] >= 1


def test_the_text_report_says_mapped_not_mapped_and_unexpected(lab_state):
    row = PlatformConnector.objects.get(platform="network")
    profile = dict(row.profile)
    # Drop one entry: the field it read is now unexpected, the observation not mapped.
    profile["observations"] = [
        e for e in profile["observations"] if e["observation"] != "interface.flaps"
    ]
    profile["observations"].append(
        {"observation": "interface.flaps", "tool": "get_interface", "path": "no_such_field",
         "unit": "count"}
    )  # fmt: skip
    row.profile = profile
    row.full_clean()
    row.save()
    out = StringIO()
    call_command("check_connector", "network", stdout=out)
    text = out.getvalue()
    assert "interface core-sw-01 Gi0/1" in text
    assert "mapped      interface.oper_status = up" in text
    assert "not mapped  interface.flaps" in text
    assert "unexpected  get_interface.flaps_last_hour" in text


def test_nothing_mapped_exits_non_zero(lab_state):
    row = PlatformConnector.objects.get(platform="storage")
    row.profile = {
        "observations": [
            {
                "observation": "volume.used_pct",
                "tool": "get_volume",
                "path": "nope",
                "unit": "percent",
            }
        ]
    }
    row.full_clean()
    row.save()
    with pytest.raises(CommandError, match="nothing mapped"):
        call_command("check_connector", "storage", stdout=StringIO())


def test_an_unknown_object_is_reported_as_a_failed_call(lab_state):
    with pytest.raises(CommandError, match="nothing mapped"):
        call_command("check_connector", "vmware", "--object", "vm=no-such-vm",
                     "--object", "host=no-such-host", stdout=StringIO())  # fmt: skip


@pytest.mark.parametrize("bad", ["vm", "planet=earth", "vm="])
def test_a_bad_object_argument_is_refused(lab_state, bad):
    with pytest.raises(CommandError, match="KIND=NAME"):
        call_command("check_connector", "vmware", "--object", bad, stdout=StringIO())
