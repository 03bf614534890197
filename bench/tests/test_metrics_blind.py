"""The metrics-only scoring's table (pure): only conditions a write clears are in it, and a
case is matched to the condition staged on its expected target."""

from __future__ import annotations

import sys
from pathlib import Path

from lab.engine import CLEARED_BY

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.live import METRICS_BLIND, staged_on


def test_every_blind_condition_is_one_a_write_clears():
    # A condition no write clears is already a person's: it needs no entry.
    assert set(METRICS_BLIND) <= set(CLEARED_BY)
    # What the series do establish is not in it.
    assert not {"vm_hung", "memory_pressure", "cpu_saturated", "bad_release", "flapping",
                "interface_errors", "crash_looping", "saturated", "instance_hung",
                "undersized"} & set(METRICS_BLIND)  # fmt: skip


def test_the_condition_is_the_one_staged_on_the_expected_target():
    case = {
        "stage": [
            {"target": "prod-web-05", "condition": "cpu_saturated"},
            {"target": "core-sw-02", "condition": "err_disabled", "interface": "Gi0/3"},
        ]
    }
    assert staged_on(case, "core-sw-02 Gi0/3") == "err_disabled"
    assert staged_on(case, "prod-web-05") == "cpu_saturated"
    assert staged_on(case, "core-sw-02") is None
    assert staged_on({"stage": None}, "x") is None
