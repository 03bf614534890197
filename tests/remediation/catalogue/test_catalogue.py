"""The action catalogue: every operation, every reason a suggestion is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediation.catalogue.rules.operations import (
    CATALOGUE,
    IRREVERSIBLE,
    MAX_SUGGESTIONS,
    RISK_LEVEL,
    ActionType,
    ParamType,
    Platform,
    SuggestedAction,
    get_operation,
    plan_rollback,
    validate_suggestions,
)

# One valid parameter set per operation; the target param first.
VALID = {
    "restart_vm": {"vm": "prod-web-01"},
    "snapshot_vm": {"vm": "prod-db-01", "snapshot_name": "pre-patch-2026-11-26"},
    "increase_memory": {"vm": "prod-app-02", "memory_gb": 32},
    "increase_cpu": {"vm": "prod-batch-03", "cpus": 8},
    "restart_pod": {"pod": "default/web-7d9f"},
    "scale_deployment": {"deployment": "shop/frontend", "replicas": 6},
    "rollback_deployment": {"deployment": "default/web", "revision": 41},
    "clear_interface_errors": {"device": "core-sw-01", "interface": "Gi0/1"},
    "enable_port": {"device": "access-sw-12", "interface": "GigabitEthernet1/0/24"},
    "restart_interface": {"device": "edge-rtr-02", "interface": "xe-0/0/0"},
    "expand_volume": {"volume": "vol-data-01", "size_gb": 2048},
    "clear_snapshots": {"volume": "vol-backup-02", "older_than_days": 30, "keep_last": 3},
    "reboot_instance": {"instance": "app-instance-03"},
    "resize_instance": {"instance": "analytics-node-04", "flavor": "m1.xlarge"},
}

PLATFORMS = {
    "restart_vm": Platform.VMWARE,
    "snapshot_vm": Platform.VMWARE,
    "increase_memory": Platform.VMWARE,
    "increase_cpu": Platform.VMWARE,
    "restart_pod": Platform.KUBERNETES,
    "scale_deployment": Platform.KUBERNETES,
    "rollback_deployment": Platform.KUBERNETES,
    "clear_interface_errors": Platform.NETWORK,
    "enable_port": Platform.NETWORK,
    "restart_interface": Platform.NETWORK,
    "expand_volume": Platform.STORAGE,
    "clear_snapshots": Platform.STORAGE,
    "reboot_instance": Platform.OPENSTACK,
    "resize_instance": Platform.OPENSTACK,
}

CRITICAL = {
    "increase_memory",
    "increase_cpu",
    "rollback_deployment",
    "expand_volume",
    "clear_snapshots",
    "resize_instance",
}


def one(raw: dict) -> tuple[list[SuggestedAction], list[str]]:
    return validate_suggestions([raw])


def test_it_holds_exactly_the_fourteen_supported_operations():
    assert set(CATALOGUE) == set(VALID)
    # The design's "Supported Operations" lists 14 (4 VMware, 3 Kubernetes, 3 network,
    # 2 storage, 2 OpenStack).
    assert len(CATALOGUE) == 14


@pytest.mark.parametrize("key", sorted(VALID))
def test_each_operation_accepts_valid_params_and_fills_facts_from_the_catalogue(key):
    op = CATALOGUE[key]
    actions, dropped = one({"operation": key, "params": VALID[key]})
    assert dropped == []
    [action] = actions
    assert action.platform == PLATFORMS[key].value == op.platform.value
    expected_type = ActionType.CRITICAL_WRITE if key in CRITICAL else ActionType.SAFE_WRITE
    assert action.action_type == expected_type.value
    assert action.rollback == op.rollback
    assert action.system == VALID[key][op.target_param]
    assert action.risk_level == RISK_LEVEL[expected_type]
    assert op.checks, "every operation names the checks that verify it"
    assert op.target_param == next(iter(VALID[key]))
    assert op.rollback_note
    assert action.to_dict() == {
        "action": op.describe(VALID[key]),
        "system": VALID[key][op.target_param],
        "operation": key,
        "platform": op.platform.value,
        "params": VALID[key],
        "action_type": expected_type.value,
        "rollback": op.rollback,
    }


@pytest.mark.parametrize("key", sorted(VALID))
def test_each_operation_refuses_a_missing_target(key):
    op = CATALOGUE[key]
    params = {k: v for k, v in VALID[key].items() if k != op.target_param}
    actions, [reason] = one({"operation": key, "params": params})
    assert actions == []
    assert f"missing required param {op.target_param}" in reason
    assert key in reason


def test_rollbacks_are_inverse_operations_or_irreversible():
    for op in CATALOGUE.values():
        if op.reversible:
            assert op.rollback in CATALOGUE
            inverse = CATALOGUE[op.rollback]
            assert set(op.rollback_params) <= {p.name for p in inverse.params}
            for source in op.rollback_params.values():
                kind, _, name = source.partition(":")
                assert kind in ("param", "before")
                if kind == "param":
                    assert op.param(name) is not None
        else:
            assert op.rollback == IRREVERSIBLE
            assert op.rollback_params == {}
    assert {k for k, op in CATALOGUE.items() if op.reversible} == {
        "scale_deployment",
        "rollback_deployment",
        "resize_instance",
    }
    assert {k for k, op in CATALOGUE.items() if op.needs_backup} == {
        "expand_volume",
        "clear_snapshots",
    }


def test_it_never_trusts_what_an_analyzer_claims_about_platform_risk_or_rollback():
    [action], _ = one(
        {
            "operation": "clear_snapshots",
            "params": VALID["clear_snapshots"],
            "platform": "network",
            "action_type": "read_only",
            "rollback": "restore_snapshots",
        }
    )
    assert action.platform == "storage"
    assert action.action_type == "critical_write"
    assert action.rollback == IRREVERSIBLE


def test_the_target_may_come_as_system():
    [action], dropped = one({"operation": "restart_vm", "system": "prod-web-01", "action": "Go"})
    assert dropped == []
    assert action.params == {"vm": "prod-web-01"}
    assert action.action == "Go"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"operation": "delete_vm", "params": {"vm": "prod-web-01"}}, "not in the catalogue"),
        ({"operation": None}, "not in the catalogue"),
        ({"params": {"vm": "x1"}}, "not in the catalogue"),
        (
            {"operation": "restart_vm", "params": {"vm": "a1", "force": True}},
            "unknown param 'force'",
        ),
        (
            {"operation": "increase_memory", "params": {"vm": "a1", "memory_gb": "32"}},
            "memory_gb must be an integer",
        ),
        (
            {"operation": "increase_memory", "params": {"vm": "a1", "memory_gb": 32.0}},
            "memory_gb must be an integer",
        ),
        (
            {"operation": "scale_deployment", "params": {"deployment": "a/b", "replicas": True}},
            "replicas must be an integer",
        ),
        ({"operation": "restart_vm", "params": {"vm": 12}}, "vm must be a string"),
        (
            {"operation": "increase_memory", "params": {"vm": "a1", "memory_gb": 0}},
            "memory_gb must be at least 1",
        ),
        (
            {"operation": "increase_memory", "params": {"vm": "a1", "memory_gb": 1025}},
            "memory_gb must be at most 1024",
        ),
        (
            {"operation": "scale_deployment", "params": {"deployment": "a/b", "replicas": -1}},
            "replicas must be at least 0",
        ),
        (
            {"operation": "scale_deployment", "params": {"deployment": "a/b", "replicas": 101}},
            "replicas must be at most 100",
        ),
        (
            {"operation": "expand_volume", "params": {"volume": "vol-1", "size_gb": 10**9}},
            "size_gb must be at most",
        ),
        ({"operation": "increase_cpu", "params": {"vm": "a1"}}, "missing required param cpus"),
        ({"operation": "restart_vm", "params": {"vm": "-rf"}}, "vm is not a valid identifier"),
        (
            {"operation": "restart_vm", "params": {"vm": "prod web 01"}},
            "vm is not a valid identifier",
        ),
        (
            {"operation": "restart_vm", "params": {"vm": "a; rm -rf /"}},
            "vm is not a valid identifier",
        ),
        (
            {"operation": "restart_vm", "params": {"vm": "../../etc"}},
            "vm is not a valid identifier",
        ),
        (
            {"operation": "restart_vm", "params": {"vm": "prod-wéb-01"}},
            "vm is not a valid identifier",
        ),
        ({"operation": "restart_vm", "params": {"vm": ""}}, "vm must be 1 to 128 characters"),
        (
            {"operation": "restart_vm", "params": {"vm": "a" * 500}},
            "vm must be 1 to 128 characters",
        ),
        (
            {"operation": "restart_pod", "params": {"pod": "web-7d9f"}},
            "pod is not a valid identifier",
        ),
        (
            {"operation": "restart_pod", "params": {"pod": "Default/Web"}},
            "pod is not a valid identifier",
        ),
        (
            {"operation": "enable_port", "params": {"device": "sw1", "interface": "0/1"}},
            "interface is not a valid identifier",
        ),
        (
            {"operation": "restart_vm", "params": {"vm": "prod-web-01\x00"}},
            "vm must not contain control characters",
        ),
        (
            {"operation": "restart_vm", "params": {"vm": "prod\n-web"}},
            "vm must not contain control characters",
        ),
        ({"operation": "restart_vm", "params": "vm=prod-web-01"}, "params must be an object"),
        ({"operation": "restart_vm", "system": 5}, "system must be a string"),
        (
            {"operation": "restart_vm", "system": "prod-web-01", "params": {"vm": "prod-db-01"}},
            "does not match param vm",
        ),
    ],
)
def test_it_drops_and_names_every_bad_suggestion(raw, reason):
    actions, dropped = one(raw)
    assert actions == []
    assert len(dropped) == 1
    assert reason in dropped[0]
    assert dropped[0].startswith("suggestion 1")


def test_it_names_the_dropped_operation_in_the_reason():
    _, [reason] = one({"operation": "format_disk", "params": {}})
    assert "'format_disk'" in reason


def test_a_reason_never_carries_control_characters_from_the_input():
    _, [reason] = one({"operation": "evil\x1b[2Jop"})
    assert "\x1b" not in reason


def test_it_refuses_things_that_are_not_a_list_of_objects():
    assert validate_suggestions("restart_vm") == ([], ["suggested actions must be a list"])
    assert validate_suggestions({"operation": "restart_vm"}) == (
        [],
        ["suggested actions must be a list"],
    )
    assert validate_suggestions(None) == ([], ["suggested actions must be a list"])
    actions, [reason] = validate_suggestions(["restart_vm"])
    assert actions == [] and "is not an object" in reason


def test_it_drops_duplicates_and_bounds_the_list():
    raw = [{"operation": "restart_vm", "params": {"vm": "prod-web-01"}}] * 2
    actions, [reason] = validate_suggestions(raw)
    assert len(actions) == 1 and "duplicate" in reason
    many = [{"operation": "restart_vm", "params": {"vm": f"web-{i:02d}"}} for i in range(50)]
    actions, dropped = validate_suggestions(many)
    assert len(actions) == MAX_SUGGESTIONS
    assert dropped == [f"suggestions after the first {MAX_SUGGESTIONS} were ignored"]


def test_action_text_is_cleaned_and_bounded():
    [action], _ = one(
        {"operation": "restart_vm", "system": "web-01", "action": "a\x00b\n" + "x" * 1000}
    )
    assert "\x00" not in action.action and "\n" not in action.action
    assert len(action.action) <= 300


def test_from_dict_round_trips_and_revalidates():
    [action], _ = one({"operation": "scale_deployment", "params": VALID["scale_deployment"]})
    assert SuggestedAction.from_dict(action.to_dict()) == action
    tampered = {**action.to_dict(), "params": {"deployment": "shop/frontend", "replicas": 1000}}
    with pytest.raises(ValueError, match="replicas must be at most 100"):
        SuggestedAction.from_dict(tampered)


def test_get_operation_takes_only_known_string_keys():
    assert get_operation("restart_vm") is CATALOGUE["restart_vm"]
    assert get_operation("nope") is None
    assert get_operation(["restart_vm"]) is None


def test_rollback_of_a_scale_returns_to_the_replica_count_read_before():
    [action], _ = one({"operation": "scale_deployment", "params": VALID["scale_deployment"]})
    inverse = plan_rollback(action, {"replicas": 2})
    assert inverse is not None
    assert inverse.operation == "scale_deployment"
    assert inverse.params == {"deployment": "shop/frontend", "replicas": 2}


def test_rollback_of_a_resize_returns_to_the_previous_flavor():
    [action], _ = one({"operation": "resize_instance", "params": VALID["resize_instance"]})
    inverse = plan_rollback(action, {"flavor": "m1.large"})
    assert inverse is not None and inverse.params["flavor"] == "m1.large"


def test_rollback_of_a_deployment_rollback_may_omit_the_revision():
    [action], _ = one({"operation": "rollback_deployment", "params": {"deployment": "default/web"}})
    inverse = plan_rollback(action, {})
    assert inverse is not None and inverse.params == {"deployment": "default/web"}


def test_rollback_needs_the_facts_it_derives_from_and_refuses_bad_ones():
    [action], _ = one({"operation": "scale_deployment", "params": VALID["scale_deployment"]})
    with pytest.raises(ValueError, match="before:replicas"):
        plan_rollback(action, {})
    with pytest.raises(ValueError, match="replicas must be at most 100"):
        plan_rollback(action, {"replicas": 500})


def test_irreversible_operations_have_no_rollback_action():
    [action], _ = one({"operation": "restart_vm", "params": VALID["restart_vm"]})
    assert plan_rollback(action, {}) is None


# --- Property: whatever arrives, nothing raises and nothing bad passes -------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["prod-web-01", "default/web-7d9f", "Gi0/1", "vol-1", "m1.large", "a..b"]),
)
_param_names = st.one_of(
    st.sampled_from(sorted({p.name for op in CATALOGUE.values() for p in op.params})),
    st.text(max_size=10),
)
_raw = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=3),
    st.fixed_dictionaries(
        {},
        optional={
            "operation": st.one_of(st.sampled_from(sorted(CATALOGUE)), _scalars),
            "params": st.one_of(st.dictionaries(_param_names, _scalars, max_size=5), _scalars),
            "system": _scalars,
            "action": _scalars,
            "platform": _scalars,
            "action_type": _scalars,
            "rollback": _scalars,
        },
    ),
)


def _param_ok(spec, value) -> bool:
    if spec.type is ParamType.INTEGER:
        return (
            type(value) is int
            and (spec.minimum is None or value >= spec.minimum)
            and (spec.maximum is None or value <= spec.maximum)
        )
    return (
        isinstance(value, str)
        and value.isascii()
        and value.isprintable()
        and " " not in value
        and ".." not in value
        and 0 < len(value) <= 128
        and spec.pattern.fullmatch(value) is not None
    )


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.lists(_raw, max_size=12), _raw))
def test_random_input_never_raises_and_never_passes_a_bad_param(raw):
    actions, dropped = validate_suggestions(raw)
    assert all(isinstance(reason, str) and reason for reason in dropped)
    for action in actions:
        op = CATALOGUE[action.operation]
        assert action.platform == op.platform.value
        assert action.action_type == op.action_type.value
        assert action.rollback == op.rollback
        names = {p.name for p in op.params}
        assert set(action.params) <= names
        for spec in op.params:
            if spec.name in action.params:
                assert _param_ok(spec, action.params[spec.name])
            else:
                assert not spec.required
        assert action.system == action.params[op.target_param]
