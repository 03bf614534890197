"""The stored calibration fit: a new version only when the fit changes, each audited; the
refit runs from its schedule's task and after recompute_patterns; scoring and the decision
read the stored row, never the history."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule

from remediation.audit.models import AuditAction, AuditEvent
from remediation.scoring.models import CalibrationFit
from remediation.scoring.rules import CALIBRATION_FIT_MIN_OUTCOMES
from remediation.scoring.services import calibration_refit, current_fit, ticket_probability
from remediation.scoring.tasks import refit_calibration
from remediation.tickets.models import TicketOutcome
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _concluded(user, n, *, score, success=True, category="server"):
    return [
        TicketFactory(
            submitted_by=user,
            category=category,
            analyzer="local",
            confidence_score=0.85,
            reliability_score=score,
            decided_reliability_score=score,
            outcome=TicketOutcome.SUCCESS if success else TicketOutcome.FAILURE,
        )
        for _ in range(n)
    ]


def test_a_refit_stores_a_version_and_audits_it_only_when_it_changes(user):
    _concluded(user, CALIBRATION_FIT_MIN_OUTCOMES, score=40.0)
    first = calibration_refit(trigger="test")
    assert first is not None and first.version == 1
    assert first.counts == {"server": CALIBRATION_FIT_MIN_OUTCOMES}
    assert first.parameters["categories"]["server"]["n"] == CALIBRATION_FIT_MIN_OUTCOMES
    event = AuditEvent.objects.get(action=AuditAction.CALIBRATION_FITTED)
    assert event.details["version"] == 1 and event.details["previous_version"] is None
    assert event.details["counts"] == {"server": CALIBRATION_FIT_MIN_OUTCOMES}

    assert calibration_refit(trigger="test") is None  # nothing changed: no version, no event
    assert AuditEvent.objects.filter(action=AuditAction.CALIBRATION_FITTED).count() == 1

    _concluded(user, 5, score=90.0, success=False)
    second = calibration_refit(trigger="test")
    assert second is not None and second.version == 2
    latest = AuditEvent.objects.filter(action=AuditAction.CALIBRATION_FITTED).latest("id")
    assert latest.details["previous_version"] == 1
    assert CalibrationFit.objects.count() == 2


def test_the_schedule_and_recompute_patterns_refit(user):
    schedule = Schedule.objects.get(name="refit calibration")
    assert schedule.func == "remediation.scoring.tasks.refit_calibration"
    _concluded(user, CALIBRATION_FIT_MIN_OUTCOMES, score=40.0)
    assert refit_calibration() == "calibration v1"
    _concluded(user, 3, score=60.0)
    call_command("recompute_patterns", stdout=open("/dev/null", "w"))  # noqa: SIM115
    fit = CalibrationFit.objects.get(version=2)
    assert fit.trigger == "recompute_patterns"


def test_the_probability_is_read_from_the_stored_fit_without_reading_tickets(user):
    _concluded(user, CALIBRATION_FIT_MIN_OUTCOMES, score=40.0)
    calibration_refit(trigger="test")
    ticket = TicketFactory(submitted_by=user, category="server", analyzer="local")
    current_fit()  # the version is read once into the cache
    with CaptureQueriesContext(connection) as ctx:
        calibrated = ticket_probability(ticket, 40.0)
    assert calibrated is not None and calibrated.probability > 0.9  # 40 scored, all succeeded
    assert calibrated.basis == "category"
    assert len(ctx.captured_queries) == 1  # the newest version, by its unique index
    assert not any("remediation_ticket" in q["sql"] for q in ctx.captured_queries)
