from __future__ import annotations

import pytest

from lab.state import LabState
from tests.support.execution import lab_policy


@pytest.fixture
def lab_path(tmp_path, settings):
    """A fresh lab state file for this test; stdio lab processes get its path."""
    path = tmp_path / "lab.sqlite3"
    LabState(path).reset()
    settings.LAB_STATE_PATH = path
    settings.MCP_STDERR_LOG = tmp_path / "mcp.log"
    settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = 1000
    return path


@pytest.fixture
def policy(db, seeded):
    return lab_policy()
