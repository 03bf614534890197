from __future__ import annotations

import pytest

from remediation.connectors import registry
from tests.support.doubles import LabDouble


@pytest.fixture
def lab():
    """Health and backup questions answered as the lab would (this is about approval logic,
    not MCP)."""
    with registry.use(LabDouble()):
        yield
