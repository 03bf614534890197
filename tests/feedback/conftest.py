from __future__ import annotations

import pytest

from remediation.models import Runbook, RunbookSource


@pytest.fixture
def restart_runbook(db):
    """A runbook the local analyzer matches confidently for "service down" tickets."""
    return Runbook.objects.create(
        name="Restart a VM whose service is down",
        operation="restart_vm",
        category="server",
        symptoms="service down\nnot responding",
        resolution="Restart the VM; the service comes back with it.",
        source=RunbookSource.ADMIN,
    )
