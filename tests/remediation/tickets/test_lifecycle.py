"""The ticket state machine's pure rules, property-tested."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from remediation.tickets.rules import lifecycle as lc

states = st.builds(
    lc.State,
    status=st.sampled_from(lc.STATUSES),
    outcome=st.sampled_from(lc.OUTCOMES),
    executed=st.booleans(),
)
legal_states = states.filter(lc.is_allowed)


def test_every_status_has_rules():
    assert set(lc.ALLOWED) == set(lc.TRANSITIONS) == set(lc.STATUSES)
    for targets in lc.TRANSITIONS.values():
        assert targets <= set(lc.STATUSES)


@pytest.mark.parametrize(
    "state",
    [
        lc.State(lc.RESOLVED, lc.FAILURE, False),
        lc.State(lc.RESOLVED, lc.FAILURE, True),
        lc.State(lc.ANALYZED, lc.SUCCESS, False),
        lc.State(lc.PROCESSING, lc.SUCCESS, False),
        lc.State(lc.PARTIALLY_REMEDIATED, lc.FAILURE, False),  # nothing ran: that is failed
        lc.State(lc.AWAITING_APPROVAL, lc.UNKNOWN, True),
        lc.State(lc.RESOLVED, lc.UNKNOWN, False),
    ],
)
def test_the_probed_contradictions_are_refused(state):
    assert not lc.is_allowed(state)
    with pytest.raises(lc.IllegalTransition):
        lc.check_state(state)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # Execution: measured success / failure, or unknown (timeout, dead worker).
        (lc.State(lc.REMEDIATING, executed=True), lc.State(lc.RESOLVED, lc.SUCCESS, True)),
        (
            lc.State(lc.REMEDIATING, executed=True),
            lc.State(lc.PARTIALLY_REMEDIATED, lc.FAILURE, True),
        ),
        (lc.State(lc.REMEDIATING), lc.State(lc.FAILED, lc.FAILURE, False)),
        (lc.State(lc.REMEDIATING, executed=True), lc.State(lc.MANUAL_REVIEW, lc.UNKNOWN, True)),
        # Approval: approved, rejected or expired.
        (lc.State(lc.AWAITING_APPROVAL), lc.State(lc.REMEDIATING)),
        (lc.State(lc.AWAITING_APPROVAL), lc.State(lc.MANUAL_REVIEW)),
        # A person confirms the fix.
        (lc.State(lc.ANALYZED), lc.State(lc.RESOLVED, lc.SUCCESS)),
        (lc.State(lc.MANUAL_REVIEW, executed=True), lc.State(lc.RESOLVED, lc.SUCCESS, True)),
    ],
)
def test_the_documented_steps_are_allowed(old, new):
    lc.check_transition(old, new)


@example(
    lc.State(lc.RESOLVED, lc.SUCCESS, True), lc.State(lc.FAILED, lc.FAILURE, True)
)  # a measured fix that did not hold
@example(lc.State(lc.RESOLVED, lc.SUCCESS, False), lc.State(lc.FAILED, lc.FAILURE, False))
@given(legal_states, legal_states)
def test_a_transition_is_allowed_exactly_when_every_rule_holds(old, new):
    expected = (old, new) == lc.DID_NOT_HOLD or (
        lc.can_move(old.status, new.status)
        and not (old.executed and not new.executed)
        and (old.outcome == lc.UNKNOWN or old.outcome == new.outcome)
        and not (old.status == lc.RESOLVED and new.status != lc.RESOLVED)
    )
    try:
        lc.check_transition(old, new)
    except lc.IllegalTransition:
        allowed = False
    else:
        allowed = True
    assert allowed == expected


@given(states, states)
def test_no_step_ever_lands_on_an_illegal_state(old, new):
    if not lc.is_allowed(new):
        with pytest.raises(lc.IllegalTransition):
            lc.check_transition(old, new)


@given(legal_states, st.lists(states, max_size=12))
def test_any_walk_keeps_concluded_outcomes_and_executed_actions(start, steps):
    current = start
    for step in steps:
        try:
            lc.check_transition(current, step)
        except lc.IllegalTransition:
            continue
        if current.outcome != lc.UNKNOWN and (current, step) != lc.DID_NOT_HOLD:
            assert step.outcome == current.outcome
        if current.executed:
            assert step.executed
        current = step
    assert lc.is_allowed(current)


@given(legal_states)
def test_terminal_states_go_nowhere_else(state):
    if state.status in lc.TERMINAL:
        for other in lc.STATUSES:
            if other != state.status:
                assert not lc.can_move(state.status, other)


def test_only_a_measured_fix_that_did_not_hold_leaves_resolved():
    measured = lc.State(lc.RESOLVED, lc.SUCCESS, True)
    lc.check_transition(measured, lc.State(lc.FAILED, lc.FAILURE, True))
    confirmed = lc.State(lc.RESOLVED, lc.SUCCESS, False)  # a person's word is final
    with pytest.raises(lc.IllegalTransition):
        lc.check_transition(confirmed, lc.State(lc.FAILED, lc.FAILURE, False))
    for other in (lc.MANUAL_REVIEW, lc.PARTIALLY_REMEDIATED, lc.REMEDIATING):
        assert not lc.can_move(lc.RESOLVED, other)


def test_feedback_is_refused_while_the_system_works_on_a_ticket():
    busy = {lc.PROCESSING, lc.AWAITING_APPROVAL, lc.REMEDIATING}
    assert set(lc.STATUSES) - lc.FEEDBACK_OPEN == busy
    assert lc.PERSON_DECIDES <= lc.FEEDBACK_OPEN
