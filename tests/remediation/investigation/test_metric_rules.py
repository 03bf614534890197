"""The observation rules on what the exporters' series show (pure): the causes metrics
establish, and the look-alikes they do not confuse."""

from __future__ import annotations

import pytest

from remediation.investigation.rules.observations import read_observations


def obj(kind, name, role="subject", **seen):
    return {
        "kind": kind,
        "name": name,
        "role": role,
        "answers": {"execute_query x": {}},
        "observations": {k.replace("__", "."): v for k, v in seen.items()},
    }


def causes(*objects):
    seen = read_observations(list(objects))
    return {(f.kind, f.name): f.cause for f in seen.findings}, seen


def test_a_hung_vm_from_up_zero_and_tools_not_running():
    vm = obj(
        "vm", "prod-web-01", vm__up=False, vm__tools_status="toolsNotRunning", vm__powered_on=True
    )
    found, seen = causes(vm)
    assert found == {("vm", "prod-web-01"): "hung"}
    assert "up 0" in seen.findings[0].quote and seen.findings[0].quote.startswith("metrics")


def test_up_zero_with_tools_running_is_not_a_hung_guest():
    vm = obj("vm", "prod-web-01", vm__up=False, vm__tools_status="toolsOk", vm__powered_on=True)
    found, seen = causes(vm)
    assert found == {} and seen.unexplained


def test_memory_pressure_from_available_memory_and_major_faults():
    vm = obj(
        "vm",
        "prod-web-01",
        vm__up=True,
        vm__tools_status="toolsOk",
        vm__memory_used_pct=97.5,
        vm__swap_used_pct=20.0,
        vm__major_faults_rate=900.0,
    )
    found, seen = causes(vm)
    assert found == {("vm", "prod-web-01"): "memory_undersized"}
    assert "900 major page faults/s" in seen.findings[0].quote


def test_full_memory_without_faults_is_not_called_undersized():
    vm = obj(
        "vm",
        "prod-web-01",
        vm__up=True,
        vm__tools_status="toolsOk",
        vm__memory_used_pct=97.5,
        vm__swap_used_pct=5.0,
        vm__major_faults_rate=1.0,
    )
    found, seen = causes(vm)
    assert found == {} and seen.unexplained


def crashing_pod(name, reason, owner="default/web"):
    return obj(
        "pod",
        name,
        pod__restarts_rate=120.0,
        pod__waiting_reason="CrashLoopBackOff",
        pod__last_terminated_reason=reason,
        pod__memory_limit=512.0,
        pod__owner=owner,
    )


def broken_deployment(name="default/web", **more):
    seen = {
        "deployment__replicas": 3,
        "deployment__available_replicas": 0,
        "deployment__probe_success": False,
        "deployment__probe_status_code": 503,
        "deployment__generation_changes": 0,
    }
    seen.update(more)
    return obj("deployment", name, role="relative", **seen)


def test_a_crash_loop_from_oom():
    found, _ = causes(crashing_pod("default/web-7d9f", "OOMKilled"))
    assert found == {("pod", "default/web-7d9f"): "oom_killed"}


def test_a_crash_loop_from_a_bad_release_is_the_deployments_one_cause():
    found, seen = causes(
        crashing_pod("default/api-3f2a", "Error", "default/api"), broken_deployment("default/api")
    )
    assert found == {("deployment", "default/api"): "bad_release"}
    assert "its pods end in Error" in seen.findings[0].quote


def test_pods_killed_for_memory_are_not_a_bad_release():
    found, seen = causes(crashing_pod("default/web-7d9f", "OOMKilled"), broken_deployment())
    assert found == {("pod", "default/web-7d9f"): "oom_killed"}
    assert any("OOMKilled" in u for u in seen.unexplained)


def test_a_pod_ending_in_error_under_a_healthy_deployment_is_for_a_person():
    healthy = broken_deployment(
        deployment__available_replicas=3,
        deployment__probe_success=True,
        deployment__probe_status_code=200,
    )
    found, seen = causes(crashing_pod("default/web-7d9f", "Error"), healthy)
    assert found == {}
    assert any("last termination Error" in u for u in seen.unexplained)
    assert "deployment default/web" in seen.healthy


@pytest.mark.parametrize(
    ("seen", "cause"),
    [
        (
            {
                "interface__in_errors_rate": 1200.0,
                "interface__oper_status": "up",
                "interface__admin_status": "up",
                "interface__flaps": 0,
            },
            "physical_layer",
        ),
        (
            {
                "interface__in_errors_rate": 0.0,
                "interface__oper_status": "up",
                "interface__admin_status": "up",
                "interface__flaps": 240,
            },
            "negotiation_flap",
        ),
        (
            {
                "interface__in_errors_rate": 0.0,
                "interface__oper_status": "down",
                "interface__admin_status": "down",
                "interface__flaps": 0,
            },
            "admin_down",
        ),
        (
            {
                "interface__in_errors_rate": 0.0,
                "interface__oper_status": "up",
                "interface__admin_status": "up",
                "interface__flaps": 0,
            },
            None,
        ),
    ],
)
def test_interface_causes_from_if_mib(seen, cause):
    found, result = causes(obj("interface", "core-sw-01 Gi0/1", **seen))
    assert found.get(("interface", "core-sw-01 Gi0/1")) == cause
    if cause is None:
        assert "interface core-sw-01 Gi0/1" in result.healthy


def test_a_full_claim_says_metrics_cannot_show_what_holds_it():
    vol = obj(
        "volume",
        "vol-data-02",
        volume__used_pct=98.2,
        volume__size=100.0,
        volume__inodes_used_pct=10.0,
        volume__growth=12.0,
    )
    found, seen = causes(vol)
    assert found == {}
    assert any("not visible in metrics" in u for u in seen.unexplained)


def test_inodes_exhausted_from_the_kubelets_stats():
    vol = obj(
        "volume",
        "vol-data-02",
        volume__used_pct=40.0,
        volume__size=100.0,
        volume__inodes_used_pct=99.0,
    )
    found, _ = causes(vol)
    assert found == {("volume", "vol-data-02"): "inode_exhaustion"}


def test_a_large_error_total_not_growing_is_stale_counters():
    seen = {
        "interface__in_errors_total": 1523.0,
        "interface__in_errors_rate": 0.0,
        "interface__out_errors_rate": 0.0,
        "interface__oper_status": "up",
        "interface__admin_status": "up",
        "interface__flaps": 0,
    }
    found, _ = causes(obj("interface", "core-sw-01 Gi0/2", **seen))
    assert found == {("interface", "core-sw-01 Gi0/2"): "stale_counters"}
    # The same total still growing is the physical layer, for a person.
    found, _ = causes(
        obj("interface", "core-sw-01 Gi0/2", **{**seen, "interface__in_errors_rate": 240.0})
    )
    assert found == {("interface", "core-sw-01 Gi0/2"): "physical_layer"}


HEALTHY_VM = {"vm__up": True, "vm__tools_status": "toolsOk", "vm__memory_used_pct": 40.0}


@pytest.mark.parametrize(
    ("seen", "said"),
    [
        ({"vm__filesystem_used_pct": 98.6}, "fullest filesystem 98.6% used"),
        ({"vm__filesystem_inodes_used_pct": 99.2}, "inodes 99.2% used"),
        ({"vm__network_errors_rate": 30.0}, "network errors 30/min now"),
    ],
)
def test_a_guest_filesystem_or_network_alarm_is_for_a_person(seen, said):
    found, result = causes(obj("vm", "prod-db-01", **HEALTHY_VM, **seen))
    assert found == {} and "vm prod-db-01" not in result.healthy
    assert any(said in u for u in result.unexplained), result.unexplained
    # The same readings under the threshold: healthy.
    calm = {k: 10.0 if "rate" not in k else 0.0 for k in seen}
    _, result = causes(obj("vm", "prod-db-01", **HEALTHY_VM, **calm))
    assert "vm prod-db-01" in result.healthy


def test_an_instances_full_filesystem_is_for_a_person_not_healthy():
    base = {"instance__up": True, "instance__memory_used_pct": 50.0}
    found, result = causes(
        obj("instance", "app-instance-01", **base, instance__filesystem_used_pct=97.0)
    )
    assert found == {} and any("what holds it" in u for u in result.unexplained)
    _, result = causes(
        obj("instance", "app-instance-01", **base, instance__filesystem_used_pct=40.0)
    )
    assert "instance app-instance-01" in result.healthy


def test_a_guest_alarm_does_not_hide_an_established_cause():
    vm = obj(
        "vm",
        "prod-web-01",
        vm__up=False,
        vm__tools_status="toolsNotRunning",
        vm__powered_on=True,
        vm__filesystem_used_pct=99.0,
    )
    found, _ = causes(vm)
    assert found == {("vm", "prod-web-01"): "hung"}
