"""Running ``manage.py verify_audit`` from a test that expects a healthy trail."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command


def assert_audit_intact() -> str:
    """Run the command; fail the test with its report if it finds any problem."""
    out = io.StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as exc:
        pytest.fail(f"verify_audit: {exc}\n{out.getvalue()}")
    return out.getvalue()
