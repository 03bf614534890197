"""Logs: one line per audited event with the ticket id and the acting user; JSON on demand."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from django.db import transaction

from config.logs import JsonFormatter, TextFormatter
from remediation.audit.models import AuditAction
from remediation.audit.services import audit


def _record(message: str, **extra) -> logging.LogRecord:
    record = logging.LogRecord("remediation.events", logging.INFO, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_the_event_fields_and_stay_on_one_line():
    line = JsonFormatter().format(
        _record(
            "Ticket INC-1\nforged line", event="ticket.created", ticket_id="INC-1", user="alice"
        )
    )
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "Ticket INC-1\nforged line"
    assert (data["event"], data["ticket_id"], data["user"]) == ("ticket.created", "INC-1", "alice")
    assert data["level"] == "INFO"
    assert data["logger"] == "remediation.events"
    assert data["time"].endswith("+00:00")


def test_text_lines_escape_newlines_from_untrusted_text():
    line = TextFormatter().format(_record("title\r\nINFO forged", ticket_id="INC-1", user="bob"))
    assert "\n" not in line and "\r" not in line
    assert line.endswith("title\\r\\nINFO forged ticket_id=INC-1 user=bob")


def test_an_exception_is_part_of_the_json_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in data["exception"]


@pytest.mark.django_db
def test_each_committed_event_is_logged_with_ticket_and_user(
    api, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="remediation.events")
    body = {"ticket_id": "INC-LOG-1", "title": "Disk full", "description": "Disk full"}
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/api/v1/tickets", {**body, "category": "storage"}, format="json")
    assert r.status_code == 201
    events = [r for r in caplog.records if r.name == "remediation.events"]
    assert [(e.event, e.ticket_id, e.user) for e in events] == [
        ("ticket.created", "INC-LOG-1", "alice")
    ]


@pytest.mark.django_db
def test_a_rolled_back_change_is_not_logged(user, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.INFO, logger="remediation.events")
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        audit(AuditAction.TICKET_CREATED, "about to be undone", acting_user=user)
        raise RuntimeError("the change fails after its audit row was written")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        audit(AuditAction.TICKET_CREATED, "kept", acting_user=user)
    assert [r.getMessage() for r in caplog.records if r.name == "remediation.events"] == ["kept"]
