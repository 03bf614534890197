"""The lab's rules, pure: each condition is cleared by its operation and only by it, the
pre-check asks "safe to act" (not "healthy"), and post-checks see the symptom."""

from __future__ import annotations

import pytest

from lab import engine
from lab.inventory import default_hosts, default_inventory
from remediation.catalogue.rules.operations import CATALOGUE

# One representative action per catalogue operation, with the condition it remedies.
ACTIONS = {
    "restart_vm": ({"vm": "prod-web-01"}, "prod-web-01", None, "vm_hung"),
    "snapshot_vm": ({"vm": "prod-web-02", "snapshot_name": "pre-patch"}, "prod-web-02", None, None),
    "increase_memory": (
        {"vm": "prod-web-03", "memory_gb": 16},
        "prod-web-03",
        None,
        "memory_pressure",
    ),
    "increase_cpu": ({"vm": "prod-web-04", "cpus": 8}, "prod-web-04", None, "cpu_saturated"),
    "restart_pod": ({"pod": "default/web-7d9f"}, "default/web-7d9f", None, "crash_looping"),
    "scale_deployment": (
        {"deployment": "default/api", "replicas": 5},
        "default/api",
        None,
        "saturated",
    ),
    "rollback_deployment": ({"deployment": "default/web"}, "default/web", None, "bad_release"),
    "clear_interface_errors": (
        {"device": "core-sw-01", "interface": "Gi0/1"},
        "core-sw-01",
        "Gi0/1",
        "interface_errors",
    ),
    "enable_port": (
        {"device": "core-sw-02", "interface": "Gi0/2"},
        "core-sw-02",
        "Gi0/2",
        "err_disabled",
    ),
    "restart_interface": (
        {"device": "core-sw-03", "interface": "Gi0/3"},
        "core-sw-03",
        "Gi0/3",
        "flapping",
    ),
    "expand_volume": (
        {"volume": "vol-data-01", "size_gb": 2048},
        "vol-data-01",
        None,
        "volume_full",
    ),
    "clear_snapshots": (
        {"volume": "vol-data-02", "older_than_days": 30, "keep_last": 1},
        "vol-data-02",
        None,
        "snapshot_bloat",
    ),
    "reboot_instance": ({"instance": "app-instance-01"}, "app-instance-01", None, "instance_hung"),
    "resize_instance": (
        {"instance": "app-instance-02", "flavor": "m1.large"},
        "app-instance-02",
        None,
        "undersized",
    ),
}


def world():
    return {"objects": default_inventory(), "hosts": default_hosts()}


def test_the_lab_has_one_write_per_catalogue_operation():
    assert set(engine.OPERATIONS) == set(CATALOGUE) == set(ACTIONS)
    for key, spec in engine.OPERATIONS.items():
        assert spec["platform"] == CATALOGUE[key].platform.value
        assert spec["target"] == CATALOGUE[key].target_param


@pytest.mark.parametrize("operation", sorted(ACTIONS))
def test_each_operation_clears_its_condition_and_passes_its_post_checks(operation):
    params, target, interface, condition = ACTIONS[operation]
    w = world()
    if condition:
        engine.set_condition(w, target, condition, interface)
        failing = [
            c
            for c in CATALOGUE[operation].checks
            if not engine.run_check(w, operation, params, c)[0]
        ]
        assert failing, f"{condition} should show in some post-check of {operation}"
    assert engine.safe_to_act(w, operation, params, unreachable=False, in_flight=None)["safe"]
    result = engine.apply(w, operation, params)
    assert result["cleared"] == condition
    assert engine.condition_of(w, target, interface) is None
    for check in CATALOGUE[operation].checks:
        passed, seen = engine.run_check(w, operation, params, check)
        assert passed, (check, seen)


def test_a_condition_is_not_cleared_by_an_unrelated_operation():
    w = world()
    engine.set_condition(w, "prod-web-01", "memory_pressure")
    result = engine.apply(w, "restart_vm", {"vm": "prod-web-01"})
    assert result["cleared"] is None
    assert engine.condition_of(w, "prod-web-01") == "memory_pressure"
    assert not engine.run_check(
        w, "increase_memory", {"vm": "prod-web-01", "memory_gb": 8}, "vm_memory_matches"
    )[0]


def test_a_pod_of_a_bad_release_comes_back_crash_looping_until_the_rollback():
    w = world()
    engine.set_condition(w, "default/web", "bad_release")
    engine.apply(w, "restart_pod", {"pod": "default/web-7d9f"})
    assert engine.condition_of(w, "default/web-7d9f") == "crash_looping"
    engine.apply(w, "rollback_deployment", {"deployment": "default/web"})
    assert engine.condition_of(w, "default/web-7d9f") is None
    assert engine.run_check(w, "restart_pod", {"pod": "default/web-7d9f"}, "pod_running")[0]


def test_scaling_down_does_not_relieve_saturation():
    w = world()
    engine.set_condition(w, "default/web", "saturated")
    assert (
        engine.apply(w, "scale_deployment", {"deployment": "default/web", "replicas": 2})["cleared"]
        is None
    )
    assert engine.condition_of(w, "default/web") == "saturated"


def test_the_pre_check_is_about_acting_safely_not_about_the_symptom():
    w = world()
    engine.set_condition(w, "prod-web-01", "vm_hung")
    ok = engine.safe_to_act(
        w, "restart_vm", {"vm": "prod-web-01"}, unreachable=False, in_flight=None
    )
    assert ok == {"safe": True, "reasons": []}
    w["objects"]["prod-web-01"]["maintenance"] = True
    busy = engine.safe_to_act(
        w, "restart_vm", {"vm": "prod-web-01"}, unreachable=True, in_flight="increase_cpu"
    )
    assert not busy["safe"]
    assert len(busy["reasons"]) == 3
    # No capacity: esx-02 has 64 GB free, prod-db-01 has 32 GB.
    short = engine.safe_to_act(
        w,
        "increase_memory",
        {"vm": "prod-db-01", "memory_gb": 200},
        unreachable=False,
        in_flight=None,
    )
    assert not short["safe"] and "lacks memory" in short["reasons"][0]
    unknown = engine.safe_to_act(w, "restart_vm", {"vm": "nope"}, unreachable=False, in_flight=None)
    assert not unknown["safe"] and "unknown target" in unknown["reasons"][0]


def test_before_facts_carry_what_the_catalogue_rollbacks_need():
    w = world()
    for operation in ("scale_deployment", "rollback_deployment", "resize_instance"):
        params = ACTIONS[operation][0]
        facts = engine.before_facts(w, operation, params)
        for source in CATALOGUE[operation].rollback_params.values():
            kind, _, key = source.partition(":")
            if kind == "before":
                assert key in facts


def test_refusals_change_nothing():
    w = world()
    before = repr(w)
    with pytest.raises(engine.LabError):
        engine.apply(w, "increase_memory", {"vm": "prod-web-01", "memory_gb": 4})
    with pytest.raises(engine.LabError):
        engine.apply(w, "resize_instance", {"instance": "app-instance-01", "flavor": "m9.huge"})
    assert repr(w) == before
