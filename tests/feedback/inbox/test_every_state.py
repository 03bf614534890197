"""Nothing a person must act on is on no page: every state of the lifecycle's table, with
every decision outcome, a pause or none, a closed review or none, is either in the inbox
(of one kind) or listed as done in ``feedback.inbox.rules.DONE`` with why; and the inbox's
SQL says the same as the pure table."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.inbox.rules import DONE, Kind, TicketFacts, classify
from feedback.inbox.selectors import KIND, inbox, with_kind
from feedback.models import Review
from policies.selectors import PAUSED_PREFIX
from remediation.approvals.models import ApprovalRequest
from remediation.decisions.rules.decision import Outcome
from remediation.tickets.models import Ticket
from remediation.tickets.rules import lifecycle
from tests.support.factories import TicketFactory, UserFactory

STATES = [
    (status, outcome, executed)
    for status, allowed in lifecycle.ALLOWED.items()
    for outcome, executed in sorted(allowed)
]
DECISIONS = [None, *[o.value for o in Outcome]]


def facts(status, outcome, executed, decision, paused, closed, needs_review) -> TicketFacts:
    return TicketFacts(
        status=status,
        outcome=outcome,
        executed=executed,
        decision_outcome=decision,
        decided_while_paused=paused,
        review_closed=closed,
        needs_review=needs_review,
    )


def test_every_state_and_decision_outcome_is_in_the_inbox_or_explicitly_done():
    done_reasons = set(DONE.values())
    seen_kinds = set()
    for (status, outcome, executed), decision, paused, closed, flagged in itertools.product(
        STATES, DECISIONS, (False, True), (False, True), (False, True)
    ):
        paused = paused and decision == Outcome.NOT_ENABLED.value
        answer = classify(facts(status, outcome, executed, decision, paused, closed, flagged))
        if isinstance(answer, Kind):
            seen_kinds.add(answer)
        else:
            assert answer in done_reasons, (status, outcome, executed, decision)
    # Every kind is reachable, and every waiting status is in the inbox when nobody closed it.
    assert seen_kinds == set(Kind)
    for status in (
        lifecycle.AWAITING_APPROVAL,
        lifecycle.MANUAL_REVIEW,
        lifecycle.FAILED,
        lifecycle.PARTIALLY_REMEDIATED,
    ):
        for outcome, executed in lifecycle.ALLOWED[status]:
            kind = classify(facts(status, outcome, executed, None, False, False, False))
            assert isinstance(kind, Kind), status
    # The decision's outcomes that leave a ticket where nobody will act are in the inbox.
    for decision in (Outcome.NOT_ENABLED.value, Outcome.SHADOW.value):
        kind = classify(facts(lifecycle.ANALYZED, "unknown", False, decision, False, False, False))
        assert kind is Kind.UNHANDLED
    kind = classify(
        facts(lifecycle.ANALYZED, "unknown", False, Outcome.NOT_ENABLED.value, True, False, False)
    )
    assert kind is Kind.PAUSED


@pytest.mark.django_db
def test_the_inbox_query_says_what_the_table_says_for_every_state():
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    submitter = UserFactory(username="sub")
    expected: dict[str, Kind | str] = {}
    n = 0
    for (status, outcome, executed), decision, paused, closed, flagged in itertools.product(
        STATES, DECISIONS, (False, True), (False, True), (False, True)
    ):
        if paused and decision != Outcome.NOT_ENABLED.value:
            continue
        n += 1
        ticket = TicketFactory(
            ticket_id=f"W-{n}",
            submitted_by=submitter,
            status=status,
            outcome=outcome,
            auto_remediation_executed=executed,
            needs_review=flagged,
            decision_facts={}
            if decision is None
            else {
                "outcome": decision,
                "paused": f"{PAUSED_PREFIX}every category by x: y" if paused else "",
            },
        )
        if status == lifecycle.AWAITING_APPROVAL:
            now = timezone.now()
            ApprovalRequest.objects.create(
                ticket=ticket,
                actions_digest="0" * 64,
                opened_at=now,
                expires_at=now + timedelta(hours=1),
            )
        if closed:
            Review.objects.create(ticket=ticket, closed_at=timezone.now(), close_reason="done")
        expected[ticket.ticket_id] = classify(
            facts(status, outcome, executed, decision, paused, closed, flagged)
        )
    in_sql = dict(with_kind(Ticket.objects.all()).values_list("ticket_id", KIND))
    listed = set(inbox(staff).values_list("ticket_id", flat=True))
    for ticket_id, answer in expected.items():
        if isinstance(answer, Kind):
            assert in_sql[ticket_id] == answer.value, ticket_id
            assert ticket_id in listed, ticket_id
        else:
            assert in_sql[ticket_id] is None, (ticket_id, answer)
            assert ticket_id not in listed, ticket_id
