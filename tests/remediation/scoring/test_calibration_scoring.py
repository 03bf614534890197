"""The reliability score's AI factor uses the calibrated confidence only once the category
has CALIBRATION_MIN_OUTCOMES outcomes, and the stored breakdown says so."""

from __future__ import annotations

import pytest
from django.db import transaction

from remediation.scoring.rules import CALIBRATION_MIN_BIN_OUTCOMES
from remediation.scoring.services import score_ticket
from remediation.tickets.models import Ticket, TicketOutcome
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _past(user, n, *, confidence, successes, category="server", analyzer="local"):
    """``n`` concluded, analyzed tickets of ``category`` with ``confidence``, the first
    ``successes`` of them successful."""
    return [
        TicketFactory(
            submitted_by=user,
            category=category,
            analyzer=analyzer,
            confidence_score=confidence,
            outcome=TicketOutcome.SUCCESS if i < successes else TicketOutcome.FAILURE,
        )
        for i in range(n)
    ]


def _score(ticket: Ticket) -> dict:
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        score_ticket(locked)
    ticket.refresh_from_db()
    return ticket.reliability_breakdown


def _new(user, confidence=0.85, category="server") -> Ticket:
    return TicketFactory(
        submitted_by=user, category=category, analyzer="local", confidence_score=confidence
    )


@pytest.fixture
def thirty(user):
    # 10 in the bin 0.8-0.9, 6 of them successful; 20 elsewhere. 30 = the default minimum.
    return _past(user, 10, confidence=0.82, successes=6) + _past(
        user, 20, confidence=0.3, successes=20
    )


def test_past_the_minimum_the_ai_factor_is_the_bins_observed_rate(user, thirty):
    ticket = _new(user)
    breakdown = _score(ticket)
    assert breakdown["breakdown"]["ai_confidence"] == "60%"  # 6 of 10, not the raw 85 %
    assert breakdown["ai_confidence_calibrated"] is True
    assert breakdown["ai_confidence_raw"] == 0.85
    assert "6 of 10" in breakdown["ai_confidence_calibration"]
    assert ticket.reliability_score == 15.0  # 0.25 x 60; nothing else has data
    # The existing keys are all still there.
    assert set(breakdown) >= {"overall_score", "confidence_level", "breakdown", "notes"}


def test_one_outcome_short_of_the_minimum_the_raw_confidence_counts(user):
    # 29 analyzed outcomes; a thirtieth without an analyzer is no prediction to check.
    _past(user, 10, confidence=0.82, successes=6) + _past(user, 19, confidence=0.3, successes=19)
    _past(user, 1, confidence=0.3, successes=1, analyzer="")
    breakdown = _score(_new(user))
    assert breakdown["breakdown"]["ai_confidence"] == "85%"
    assert breakdown["ai_confidence_calibrated"] is False
    assert breakdown["ai_confidence_raw"] == 0.85
    assert "ai_confidence_calibration" not in breakdown


def test_the_ticket_own_outcome_does_not_calibrate_it(user, thirty):
    # Re-scoring one of the thirty: the other 29 are one short of the minimum.
    breakdown = _score(thirty[0])
    assert breakdown["ai_confidence_calibrated"] is False


def test_a_sparse_bin_keeps_the_raw_confidence(user, thirty):
    # Only 0.3-confidence history in the bin 0.5-0.6: nothing to calibrate 0.55 with.
    breakdown = _score(_new(user, confidence=0.55))
    assert breakdown["breakdown"]["ai_confidence"] == "55%"
    assert breakdown["ai_confidence_calibrated"] is False
    assert CALIBRATION_MIN_BIN_OUTCOMES > 0


def test_other_categories_history_does_not_count(user, thirty):
    breakdown = _score(_new(user, category="network"))
    assert breakdown["ai_confidence_calibrated"] is False


def test_the_minimum_is_a_setting(user, settings):
    settings.CALIBRATION_MIN_OUTCOMES = 5
    _past(user, 5, confidence=0.82, successes=1)
    breakdown = _score(_new(user))
    assert breakdown["breakdown"]["ai_confidence"] == "20%"  # 1 of 5
    assert breakdown["ai_confidence_calibrated"] is True
