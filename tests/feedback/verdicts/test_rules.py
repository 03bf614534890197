"""The verdict a feedback gives on a ticket's outcome, without a database."""

from __future__ import annotations

import pytest

from feedback.models import FeedbackType
from feedback.verdicts.rules import outcome_from_feedback


@pytest.mark.parametrize(
    ("feedback_type", "accurate", "worked", "verdict"),
    [
        ("negative", None, None, "failure"),
        ("negative", True, True, "failure"),  # a negative feedback is never a success
        ("positive", None, False, "failure"),  # "the actions did not work" wins
        ("neutral", None, False, "failure"),
        ("positive", True, None, "success"),
        ("positive", None, True, "success"),
        ("positive", False, None, None),  # positive without saying what worked
        ("positive", None, None, None),
        ("neutral", True, True, None),
    ],
)
def test_the_verdict_of_each_feedback(feedback_type, accurate, worked, verdict):
    assert (
        outcome_from_feedback(feedback_type, resolution_accurate=accurate, actions_worked=worked)
        == verdict
    )


def test_the_rule_knows_the_feedback_types_the_model_stores():
    # The rule compares plain strings: they must be the model's values.
    negative = FeedbackType.NEGATIVE
    assert outcome_from_feedback(negative, resolution_accurate=None, actions_worked=None) == (
        "failure"
    )
    assert (
        outcome_from_feedback(FeedbackType.POSITIVE, resolution_accurate=True, actions_worked=None)
        == "success"
    )
