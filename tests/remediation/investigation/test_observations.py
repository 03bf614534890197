"""What the readings establish: every condition the lab can stage, read as an investigation
reads it, gives the cause an engineer would name; health gives no cause; garbage is data."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab import engine, signals
from lab.inventory import default_hosts, default_inventory
from remediation.analysis.rules.diagnosis import Diagnosis
from remediation.analysis.rules.evidence import WORDS_ONLY_MAX, grounded, in_scope, weigh
from remediation.investigation.rules.observations import read_observations

# (target, interface, condition) -> the cause the readings establish (None: no cause, a person)
EXPECTED = [
    ("prod-web-01", None, "vm_hung", "hung"),
    ("prod-web-01", None, "memory_pressure", "memory_undersized"),
    ("prod-web-01", None, "cpu_saturated", "cpu_undersized"),
    ("prod-web-01", None, "cpu_contention", "cpu_contention"),
    ("default/web-7d9f", None, "crash_looping", "hung"),
    ("default/web-7d9f", None, "oom_killed", "oom_killed"),
    ("default/web-7d9f", None, "config_error", "config_error"),
    ("default/web", None, "bad_release", "bad_release"),
    ("default/web", None, "saturated", "load_spike"),
    ("default/web", None, "dependency_down", "dependency_down"),
    ("core-sw-01", "Gi0/1", "interface_errors", "stale_counters"),
    ("core-sw-01", "Gi0/1", "err_disabled", "err_disabled_recovered"),
    ("core-sw-01", "Gi0/1", "flapping", "negotiation_flap"),
    ("core-sw-01", "Gi0/1", "physical_fault", "physical_layer"),
    ("vol-data-01", None, "volume_full", "data_growth"),
    ("vol-data-02", None, "snapshot_bloat", "snapshot_growth"),
    ("vol-logs-01", None, "log_growth", "log_growth"),
    ("app-instance-01", None, "instance_hung", "hung"),
    ("app-instance-01", None, "undersized", "cpu_undersized"),
    ("app-instance-01", None, "instance_error", "instance_error"),
]


def observe(world, target, interface=None):
    """The objects an investigation of ``target`` records (with its relatives)."""
    kind = world["objects"][target]["kind"]
    objects = []
    if kind == "vm":
        host = world["objects"][target]["host"]
        objects.append(
            {
                "kind": "vm",
                "name": target,
                "primary": True,
                "answers": {
                    "get_vm": signals.vm_summary(world, target),
                    "get_vm_metrics": signals.vm_metrics(world, target),
                    "get_vm_events": signals.vm_events(world, target),
                },
            }
        )
        objects.append(
            {
                "kind": "host",
                "name": host,
                "of": target,
                "answers": {"get_host": signals.host_summary(world, host)},
            }
        )
    elif kind == "pod":
        pod = signals.pod_summary(world, target)
        objects.append(
            {
                "kind": "pod",
                "name": target,
                "primary": True,
                "answers": {"get_pod": pod, "get_pod_logs": signals.pod_logs(world, target)},
            }
        )
        owner = pod["owner"]
        objects.append(
            {
                "kind": "deployment",
                "name": owner,
                "of": target,
                "answers": {"get_deployment": signals.deployment_summary(world, owner)},
            }
        )
    elif kind == "deployment":
        dep = signals.deployment_summary(world, target)
        objects.append(
            {
                "kind": "deployment",
                "name": target,
                "primary": True,
                "answers": {"get_deployment": dep},
            }
        )
        for pod in dep["pods"]:
            objects.append(
                {
                    "kind": "pod",
                    "name": pod,
                    "of": target,
                    "answers": {
                        "get_pod": signals.pod_summary(world, pod),
                        "get_pod_logs": signals.pod_logs(world, pod),
                    },
                }
            )
    elif kind == "device":
        objects.append(
            {
                "kind": "device",
                "name": target,
                "primary": True,
                "answers": {"get_device": signals.device_summary(world, target)},
            }
        )
        for name in [interface] if interface else world["objects"][target]["interfaces"]:
            objects.append(
                {
                    "kind": "interface",
                    "name": f"{target} {name}",
                    "of": target,
                    "answers": {"get_interface": signals.interface_summary(world, target, name)},
                }
            )
    elif kind == "volume":
        objects.append(
            {
                "kind": "volume",
                "name": target,
                "primary": True,
                "answers": {"get_volume": signals.volume_summary(world, target)},
            }
        )
    elif kind == "instance":
        objects.append(
            {
                "kind": "instance",
                "name": target,
                "primary": True,
                "answers": {"get_instance": signals.instance_summary(world, target)},
            }
        )
    return objects


def world_with(target=None, interface=None, condition=None):
    world = {"objects": default_inventory(), "hosts": default_hosts()}
    if condition:
        engine.set_condition(world, target, condition, interface)
    return world


@pytest.mark.parametrize(("target", "interface", "condition", "cause"), EXPECTED)
def test_each_staged_condition_reads_as_its_cause(target, interface, condition, cause):
    objects = observe(world_with(target, interface, condition), target, interface)
    seen = read_observations(objects)
    scope = in_scope(objects)
    causes = {f.cause for f in seen.findings if (f.kind, f.name) in scope}
    assert causes == {cause}, (seen.findings, seen.unexplained)


@pytest.mark.parametrize(
    "target",
    [
        "prod-web-01",
        "prod-db-01",
        "default/web-7d9f",
        "default/api",
        "core-sw-03",
        "vol-data-01",
        "vol-logs-01",
        "app-instance-02",
    ],
)
def test_healthy_objects_show_no_cause_and_are_named_healthy(target):
    objects = observe(world_with(), target)
    seen = read_observations(objects)
    assert seen.findings == () and seen.unexplained == ()
    assert seen.healthy


TEXT = Diagnosis(
    cause="unknown", cause_label="not established", established=False, confidence=0.0, platform=None
)


def test_observations_outrank_words_that_only_describe_the_symptom():
    objects = observe(world_with("prod-web-01", None, "vm_hung"), "prod-web-01")
    weighed = weigh(
        TEXT, status="complete", observed=read_observations(objects), scope=in_scope(objects)
    )
    assert weighed.diagnosis.established and weighed.diagnosis.cause == "hung"
    assert weighed.diagnosis.confidence >= 0.9
    assert weighed.diagnosis.extra["basis"] == "observed"
    assert any("heartbeat red" in e for e in weighed.diagnosis.evidence)


def test_words_that_establish_another_cause_give_way_to_the_observation_and_are_quoted():
    said = Diagnosis(
        cause="memory_undersized",
        cause_label="workload outgrew its memory",
        established=True,
        confidence=0.9,
        platform="vmware",
    )
    objects = observe(world_with("prod-web-01", None, "vm_hung"), "prod-web-01")
    weighed = weigh(
        said, status="complete", observed=read_observations(objects), scope=in_scope(objects)
    )
    assert weighed.diagnosis.established and weighed.diagnosis.cause == "hung"
    assert weighed.diagnosis.extra["words_contradicted"] is True
    assert any("words say workload outgrew its memory" in e for e in weighed.diagnosis.evidence)


@pytest.mark.parametrize("status", ["failed", "not_found"])
def test_a_platform_that_does_not_answer_means_no_action(status):
    weighed = weigh(TEXT, status=status, reason="vmware: no answer in time")
    assert weighed.diagnosis.needs_human and not weighed.diagnosis.established
    assert weighed.diagnosis.needs_human_reason.startswith("could not investigate")
    assert weighed.diagnosis.extra["basis"] == "none"


def test_words_alone_are_capped_below_anything_that_may_run_unattended():
    said = Diagnosis(
        cause="hung", cause_label="hung", established=True, confidence=0.92, platform="vmware"
    )
    weighed = weigh(said, status="skipped", reason="no object named")
    assert weighed.diagnosis.confidence <= WORDS_ONLY_MAX
    assert weighed.diagnosis.needs_human and weighed.diagnosis.extra["basis"] == "words"


def test_a_proposal_is_grounded_only_on_the_observed_object_and_cause():
    objects = observe(world_with("prod-web-02", None, "vm_hung"), "prod-web-02")
    record = {"status": "complete", "objects": objects}
    restart = {"operation": "restart_vm", "params": {"vm": "prod-web-02"}}
    assert grounded([restart], record) == ""
    assert "acts on" in grounded(
        [{"operation": "restart_vm", "params": {"vm": "prod-db-01"}}], record
    )
    assert "does not fix" in grounded(
        [{"operation": "increase_memory", "params": {"vm": "prod-web-02", "memory_gb": 16}}], record
    )
    assert grounded([restart], {"status": "failed", "objects": objects}) == "nothing was observed"


JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(
        ["vm", "host", "pod", "deployment", "device", "interface", "volume", "instance", "other"]
    ),
    tool=st.sampled_from(
        [
            "get_vm",
            "get_vm_metrics",
            "get_host",
            "get_pod",
            "get_pod_logs",
            "get_deployment",
            "get_interface",
            "get_volume",
            "get_instance",
        ]
    ),
    answer=JSONISH,
)
def test_any_answer_a_server_sends_is_read_as_data_and_never_raises(kind, tool, answer):
    objects = [{"kind": kind, "name": "x", "primary": True, "answers": {tool: answer}}]
    read_observations(objects)
    weigh(TEXT, status="complete", observed=read_observations(objects), scope=in_scope(objects))
