"""The replay judges the operator's verdict by the lab's truth: where the lab staged a fault
no operation clears (a kind without a fix, or a drifted incident whose new fault nothing
clears), proposing nothing is right, so a positive rating of it is right too."""

from __future__ import annotations

import random

from replay.kinds import builtin_kinds, write_incident
from replay.run import Row, feedback_truth, right_fixes

CLEARED_BY = {"vm_hung": ["restart_vm"], "memory_pressure": ["increase_memory"],
              "physical_fault": []}  # fmt: skip


def _incident(drift: str | None):
    return write_incident(random.Random(1), 1, builtin_kinds()["vm_hung"], 1, drift)


def _row(**fields):
    return Row(seq=1, kind="vm_hung", occurrence=1, drifted=True, fixable=False,
               target="prod-web-01", **fields)  # fmt: skip


def test_a_drifted_incident_that_nothing_clears_is_rightly_left_to_a_person():
    incident = _incident("physical_fault")
    assert right_fixes(incident, CLEARED_BY) == set()
    # nothing proposed, nothing ran: a positive verdict is right (it was counted wrong)
    assert feedback_truth(incident, _row(proposed=[]), CLEARED_BY) is True
    # the kind's old fix proposed: a positive verdict is wrong
    assert feedback_truth(incident, _row(proposed=["restart_vm"]), CLEARED_BY) is False


def test_a_drifted_incident_whose_new_fault_has_a_fix_needs_that_fix():
    incident = _incident("memory_pressure")
    assert right_fixes(incident, CLEARED_BY) == {"increase_memory"}
    assert feedback_truth(incident, _row(proposed=[]), CLEARED_BY) is False
    right = _row(proposed=["increase_memory"], right_action=True)
    assert feedback_truth(incident, right, CLEARED_BY) is True


def test_an_executed_ticket_is_judged_by_whether_the_lab_saw_it_fixed():
    incident = _incident(None)
    assert right_fixes(incident, CLEARED_BY) == {"restart_vm"}
    assert feedback_truth(incident, _row(executed=True, fixed_by_system=True)) is True
    assert feedback_truth(incident, _row(executed=True, fixed_by_system=False)) is False
