"""The investigation's total bound holds when one read of the real lab (stdio MCP) hangs:
the call is recorded as timed out and the whole investigation ends within its bound; the
ticket goes on to a person, nothing guessed."""

from __future__ import annotations

import pytest

from lab.state import LabState
from remediation.connectors.mcp_connector import close_pooled_sessions
from remediation.investigation.rules.subjects import subjects_for
from remediation.investigation.services import investigate
from tests.support.execution import stage

pytestmark = pytest.mark.django_db

# What the recorded duration may exceed the bound by: the bookkeeping after the last call
# (not a second call, not a session start).
MARGIN_MS = 500


@pytest.fixture
def lab_path(tmp_path, settings, seeded, investigating):
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    close_pooled_sessions()  # a fresh lab process for this state file
    yield path
    close_pooled_sessions()


def test_a_read_that_hangs_ends_the_investigation_within_its_bound(lab_path):
    """The probe: one slow read outlasted the 8 s bound by 32 s (it failed safe)."""
    stage(lab_path, fault={"kind": "slow_read", "target": "prod-web-01", "seconds": 20})

    record = investigate(subjects_for("prod-web-01", "Web service down"), max_seconds=4.0)

    assert record["limits"]["max_seconds"] == 4.0
    assert record["duration_ms"] <= 4000 + MARGIN_MS, record
    slow = [c for c in record["calls"] if not c["ok"]]
    assert slow, record["calls"]
    assert "no answer in time" in slow[0]["error"], slow[0]
    assert all(c["ms"] <= 4000 + MARGIN_MS for c in record["calls"])
    assert record["status"] not in ("complete",), record["status"]


def test_a_cold_start_counts_against_the_bound(lab_path, settings):
    """Starting the lab's process is part of the first call: a bound shorter than the start
    ends the investigation at the bound, recorded as unanswered, not after the start-up."""
    record = investigate(subjects_for("prod-web-01", "Web service down"), max_seconds=0.3)

    assert record["duration_ms"] <= 300 + MARGIN_MS, record
    assert record["calls"] and not record["calls"][0]["ok"], record["calls"]
