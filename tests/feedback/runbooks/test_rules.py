"""Which operation a learned runbook is made of, without a database."""

from __future__ import annotations

from feedback.runbooks.rules import learned_operation

RESTART = {"operation": "restart_vm", "params": {"vm": "prod-web-01"}}
EXPAND = {"operation": "expand_volume", "params": {"volume": "vol-data-01", "size_gb": 2048}}


def test_what_the_person_did_comes_before_what_was_suggested():
    assert learned_operation([EXPAND], [RESTART]) == (
        "expand_volume",
        {"size_gb": 2048},  # the target is each new ticket's own
        "actual_actions_taken",
    )


def test_sentences_are_skipped_and_the_suggestion_is_used():
    assert learned_operation(["I restarted it by hand"], [RESTART]) == (
        "restart_vm",
        {},
        "suggested_actions",
    )


def test_an_action_outside_the_catalogue_teaches_nothing():
    unknown = {"operation": "reboot_the_moon", "params": {"vm": "prod-web-01"}}
    assert learned_operation([unknown], [unknown]) is None
    assert learned_operation([], []) is None
