"""The verdict a feedback gives on a ticket's outcome (pure: plain values in and out).

1. ``negative``, or ``actions_worked`` is false  -> failure
2. ``positive`` and (``resolution_accurate`` or ``actions_worked`` is true) -> success
3. anything else (neutral; positive without saying what worked) -> no verdict

Whether the verdict then decides the outcome, or only disagrees with a measured one, is the
feedback service's (``feedback.verdicts.services``).
"""

from __future__ import annotations

from remediation.tickets.rules.lifecycle import FAILURE, SUCCESS

# The feedback types (``feedback.models.FeedbackType``'s values).
POSITIVE = "positive"
NEGATIVE = "negative"


def outcome_from_feedback(
    feedback_type: str, *, resolution_accurate: bool | None, actions_worked: bool | None
) -> str | None:
    """The outcome a feedback establishes (``success``/``failure``), or None when it leaves
    the outcome alone."""
    if feedback_type == NEGATIVE or actions_worked is False:
        return FAILURE
    if feedback_type == POSITIVE and (resolution_accurate is True or actions_worked is True):
        return SUCCESS
    return None
