"""Shadow agreement through the public interface: approvals, rejections and trusted
feedback record whether the system's proposal matched what the person did; the patterns API
shows the counts; recompute_patterns rebuilds them; eligibility may require them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from patterns.models import Pattern
from policies.models import PolicyMode
from remediation.approvals.models import AgreementSource, ShadowAgreement
from remediation.audit.models import AuditAction, AuditEvent
from remediation.tickets.models import Ticket, TicketStatus
from tests.conftest import make_teacher
from tests.support.approvals import BREAKDOWN, approver, awaiting_ticket, policy
from tests.support.deciding import decide
from tests.support.factories import RESTART_VM, PatternFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

RESTARTED = {"operation": "restart_vm", "system": "prod-web-01", "action": "Restarted it"}
COUNTS = ["shadow_agreement_count", "shadow_disagreement_count", "shadow_agreement_rate"]


def decide_api(client, ticket, approve=True, comment="Not during the sale"):
    body = {"approve": approve} if approve else {"approve": False, "comment": comment}
    r = client.post(f"/api/v1/tickets/{ticket.ticket_id}/approve-remediation", body, format="json")
    assert r.status_code == 200, r.json()
    return r


def feedback(client, ticket, *, status=201, **body):
    r = client.post(
        "/api/v1/feedback",
        {"ticket_id": ticket.ticket_id, "feedback_type": "positive", "rating": 4, **body},
        format="json",
    )
    assert r.status_code == status, r.json()
    return r


def counts(client, pattern) -> dict:
    r = client.get("/api/v1/patterns")
    assert r.status_code == 200
    (row,) = [p for p in r.json()["results"] if p["hash"] == pattern.hash]
    return {k: row[k] for k in COUNTS}


def shadow_ticket(submitter, pattern, *, proposed=True) -> Ticket:
    """A ticket its policy decided in shadow mode: analyzed, nothing ran, a person handles it."""
    policy(mode=PolicyMode.SHADOW)
    ticket = TicketFactory(
        submitted_by=submitter,
        category="server",
        status=TicketStatus.PROCESSING,
        auto_remediation_enabled=True,
        resolution="Restart the web VM; the service comes back with it.",
        suggested_actions=[RESTART_VM] if proposed else [],
        confidence_score=0.9,
        reliability_score=72.5,
        reliability_breakdown=BREAKDOWN,
        pattern=pattern,
    )
    decide(ticket)
    policy(mode=PolicyMode.ENFORCE)
    assert ticket.status == TicketStatus.ANALYZED, ticket.status_reason
    assert ticket.decision_mode == "shadow"
    return ticket


@pytest.fixture
def carol(db):
    return approver("carol", email="carol@example.com")


@pytest.fixture
def pattern(db):
    return PatternFactory(category="server", occurrence_count=3)


def test_an_approval_records_agreement_and_the_pattern_counts_it(
    lab, user, carol, pattern, client_for
):
    ticket = awaiting_ticket(user, pattern=pattern)
    carol_api = client_for(carol)
    assert counts(carol_api, pattern) == {
        "shadow_agreement_count": 0,
        "shadow_disagreement_count": 0,
        "shadow_agreement_rate": None,  # no verdict: no data
    }

    decide_api(carol_api, ticket)

    row = ShadowAgreement.objects.get(ticket=ticket)
    assert (row.agreed, row.source, row.decided_by, row.pattern) == (
        True,
        AgreementSource.APPROVAL,
        carol,
        pattern,
    )
    assert counts(carol_api, pattern) == {
        "shadow_agreement_count": 1,
        "shadow_disagreement_count": 0,
        "shadow_agreement_rate": 1.0,
    }
    (event,) = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.SHADOW_AGREEMENT)
    assert event.actor == carol
    assert event.details["agreed"] is True and event.details["source"] == "approval"


def test_a_rejection_records_disagreement(lab, user, carol, pattern, client_for):
    ticket = awaiting_ticket(user, pattern=pattern)

    decide_api(client_for(carol), ticket, approve=False)

    row = ShadowAgreement.objects.get(ticket=ticket)
    assert (row.agreed, row.source, row.decided_by) == (False, AgreementSource.REJECTION, carol)
    assert counts(client_for(carol), pattern) == {
        "shadow_agreement_count": 0,
        "shadow_disagreement_count": 1,
        "shadow_agreement_rate": 0.0,
    }
    pattern.refresh_from_db()
    assert pattern.rejection_count == 1  # the same single pattern write counted both


def test_trusted_feedback_saying_the_suggestion_was_wrong_is_a_disagreement(
    lab, user, pattern, teacher_api
):
    ticket = shadow_ticket(user, pattern)

    feedback(teacher_api, ticket, feedback_type="negative", resolution_accurate=False)

    row = ShadowAgreement.objects.get(ticket=ticket)
    assert (row.agreed, row.source) == (False, AgreementSource.FEEDBACK)
    assert counts(teacher_api, pattern)["shadow_disagreement_count"] == 1


def test_a_shadow_mode_ticket_fixed_by_hand_as_proposed_is_an_agreement(
    lab, user, pattern, teacher_api, teacher
):
    ticket = shadow_ticket(user, pattern)

    feedback(
        teacher_api,
        ticket,
        actual_actions_taken=[{"operation": "restart_vm", "system": "prod-web-01"}],
    )

    row = ShadowAgreement.objects.get(ticket=ticket)
    assert (row.agreed, row.source, row.decided_by) == (True, AgreementSource.FEEDBACK, teacher)
    assert counts(teacher_api, pattern)["shadow_agreement_count"] == 1


def test_a_shadow_mode_ticket_fixed_by_hand_otherwise_is_a_disagreement(
    lab, user, pattern, teacher_api
):
    ticket = shadow_ticket(user, pattern)

    feedback(
        teacher_api,
        ticket,
        actual_actions_taken=[{"operation": "restart_vm", "system": "prod-web-02"}],
    )

    row = ShadowAgreement.objects.get(ticket=ticket)
    assert row.agreed is False
    assert "prod-web-02" in row.reason


def test_a_ticket_with_nothing_proposed_fixed_by_hand_is_a_disagreement(
    lab, user, pattern, teacher_api
):
    ticket = shadow_ticket(user, pattern, proposed=False)

    feedback(teacher_api, ticket, actual_resolution="Restarted the VM by hand.")

    assert ShadowAgreement.objects.get(ticket=ticket).agreed is False
    assert counts(teacher_api, pattern)["shadow_disagreement_count"] == 1


def test_untrusted_feedback_records_nothing(lab, pattern, client_for, teacher_api):
    # The submitter may teach, but never on their own ticket; an integration may not teach.
    submitter = make_teacher(UserFactory(username="sam"))
    integration = UserFactory(username="integration")
    make_teacher(integration).user_permissions.remove(
        *integration.user_permissions.filter(codename="teach")
    )
    ticket = shadow_ticket(submitter, pattern)

    feedback(client_for(submitter), ticket, feedback_type="negative")
    feedback(client_for(integration), ticket, feedback_type="negative")

    assert not ShadowAgreement.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.SHADOW_AGREEMENT).exists()
    assert counts(teacher_api, pattern) == {
        "shadow_agreement_count": 0,
        "shadow_disagreement_count": 0,
        "shadow_agreement_rate": None,  # no verdict: no data
    }


def test_the_last_trusted_word_wins_one_verdict_per_ticket(
    lab, user, carol, pattern, client_for, teacher_api
):
    ticket = awaiting_ticket(user, pattern=pattern)
    decide_api(client_for(carol), ticket, approve=False)  # -> manual review

    # Then a trusted person fixes it by hand exactly as proposed and says so.
    feedback(teacher_api, ticket, actions_worked=True, actual_actions_taken=[RESTARTED])

    assert ShadowAgreement.objects.filter(ticket=ticket).count() == 1
    assert ShadowAgreement.objects.get(ticket=ticket).source == AgreementSource.FEEDBACK
    assert counts(teacher_api, pattern) == {
        "shadow_agreement_count": 1,
        "shadow_disagreement_count": 0,
        "shadow_agreement_rate": 1.0,
    }
    events = AuditEvent.objects.filter(ticket=ticket, action=AuditAction.SHADOW_AGREEMENT)
    assert [e.details["agreed"] for e in events.order_by("id")] == [False, True]


def test_recompute_gives_the_incremental_numbers_after_a_mixed_history(
    lab, user, carol, client_for, teacher_api
):
    carol_api = client_for(carol)
    dave_api = client_for(make_teacher(UserFactory(username="dave")))
    # Distinct hash prefixes: a runbook learned from feedback is named after one.
    first, second = (PatternFactory(hash=c * 64, occurrence_count=3) for c in "ab")
    for n, p in enumerate([first, second, first]):
        decide_api(carol_api, awaiting_ticket(user, pattern=p))  # agreed
        decide_api(carol_api, awaiting_ticket(user, pattern=p), approve=False)  # disagreed
        shadow = shadow_ticket(user, p, proposed=bool(n % 2))
        feedback(teacher_api, shadow, feedback_type=["negative", "positive"][n % 2])
        feedback(client_for(user), shadow_ticket(user, p), feedback_type="negative")  # own
        replaced = awaiting_ticket(user, pattern=p)
        decide_api(carol_api, replaced, approve=False)
        feedback(teacher_api, replaced, actual_actions_taken=[RESTARTED])  # now agreed
        feedback(dave_api, replaced, feedback_type="negative")  # and the last word: no
    assert ShadowAgreement.objects.count() == 12  # four per round
    incremental = {p.hash: counts(carol_api, p) for p in (first, second)}
    assert incremental[first.hash]["shadow_agreement_count"] == 2
    assert incremental[first.hash]["shadow_disagreement_count"] == 6
    assert incremental[second.hash]["shadow_agreement_count"] == 2
    assert incremental[second.hash]["shadow_disagreement_count"] == 2

    Pattern.objects.update(
        shadow_agreement_count=7, shadow_disagreement_count=0, shadow_agreement_rate=0.5
    )
    call_command("recompute_patterns", stdout=StringIO())

    assert {p.hash: counts(carol_api, p) for p in (first, second)} == incremental


def eligible_pattern() -> Pattern:
    return PatternFactory(
        occurrence_count=10,
        success_count=10,
        confidence_sum=9.0,
        avg_confidence_score=0.9,
        positive_feedback_count=10,
        positive_feedback_rate=1.0,
        reliability_sum=900.0,
        reliability_count=10,
        avg_reliability_score=90.0,
        auto_remediation_attempts=10,
        auto_remediation_successes=10,
        auto_remediation_success_rate=1.0,
        eligible_for_auto_remediation=True,
    )


def test_by_default_agreement_does_not_touch_eligibility(lab, user, carol, client_for):
    pattern = eligible_pattern()
    decide_api(client_for(carol), awaiting_ticket(user, pattern=pattern), approve=False)

    pattern.refresh_from_db()
    assert pattern.shadow_disagreement_count == 1
    assert pattern.eligible_for_auto_remediation is True


def test_with_the_setting_on_too_little_agreement_blocks_eligibility_and_says_why(
    lab, user, carol, client_for, settings
):
    settings.PATTERN_MIN_SHADOW_DECISIONS = 3
    settings.PATTERN_MIN_SHADOW_AGREEMENT = 0.9
    pattern = eligible_pattern()

    decide_api(client_for(carol), awaiting_ticket(user, pattern=pattern), approve=False)

    r = client_for(carol).get("/api/v1/patterns")
    (row,) = [p for p in r.json()["results"] if p["hash"] == pattern.hash]
    assert row["eligible_for_auto_remediation"] is False
    (event,) = AuditEvent.objects.filter(
        pattern=pattern, action=AuditAction.PATTERN_ELIGIBILITY_CHANGED
    )
    assert event.details["reasons"] == [
        "People agreed with its proposals 0% of 1 times, needs 90% of at least 3."
    ]
