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


# --- the series that tell look-alikes apart -------------------------------------------------


def test_a_container_killed_for_failed_liveness_probes_is_hung_and_restartable():
    pod = crashing_pod("default/web-7d9f", "Error")
    pod["observations"].update({"pod.last_exit_code": 137, "pod.liveness_failures_rate": 6.0})
    found, seen = causes(pod)
    assert found == {("pod", "default/web-7d9f"): "hung"}
    assert "liveness probe failing 6/min" in seen.findings[0].quote
    assert "exit 137" in seen.findings[0].quote


@pytest.mark.parametrize(
    ("code", "liveness", "reason", "cause"),
    [
        (1, 0.0, "Error", "config_error"),  # a bad configuration exits on its own
        (1, None, "Error", "config_error"),  # probes not scraped: the exit code still says
        (137, 0.0, "OOMKilled", "oom_killed"),
        (137, 0.0, "Error", None),  # killed, but not for its probes: a person looks
        (137, None, "Error", None),
        (137, 0.5, "Error", None),  # a failure now and then is not a wedged container
    ],
)
def test_a_crash_loop_without_failed_liveness_probes_is_not_restarted(
    code, liveness, reason, cause
):
    pod = crashing_pod("default/web-7d9f", reason)
    pod["observations"]["pod.last_exit_code"] = code
    if liveness is not None:
        pod["observations"]["pod.liveness_failures_rate"] = liveness
    found, seen = causes(pod)
    assert found == ({("pod", "default/web-7d9f"): cause} if cause else {})
    if cause is None:
        assert seen.unexplained


def slow_deployment(**more):
    seen = {
        "deployment__replicas": 3,
        "deployment__available_replicas": 3,
        "deployment__probe_success": True,
        "deployment__probe_status_code": 200,
        "deployment__probe_duration": 2.4,
        "deployment__generation_changes": 0,
    }
    seen.update(more)
    return obj("deployment", "default/web", **seen)


def test_a_deployment_at_its_cpu_limit_and_throttled_is_short_of_capacity():
    dep = slow_deployment(deployment__cpu_pct_of_limits=97.0, deployment__cpu_throttled_pct=52.0)
    found, seen = causes(dep)
    assert found == {("deployment", "default/web"): "load_spike"}
    assert "97% of their limits" in seen.findings[0].quote
    assert "throttled in 52% of CFS periods" in seen.findings[0].quote
    assert seen.facts["default/web"]["replicas"] == 3


@pytest.mark.parametrize(
    "more",
    [
        # A slow dependency: the containers idle, waiting on it.
        {"deployment__cpu_pct_of_limits": 6.0, "deployment__cpu_throttled_pct": 0.0},
        # Busy but not throttled, or throttled but not busy: not shown to be CPU-bound.
        {"deployment__cpu_pct_of_limits": 95.0, "deployment__cpu_throttled_pct": 3.0},
        {"deployment__cpu_pct_of_limits": 40.0, "deployment__cpu_throttled_pct": 60.0},
        # No CPU series at all (cAdvisor not scraped).
        {},
        # Answering 5xx: not load.
        {
            "deployment__cpu_pct_of_limits": 97.0,
            "deployment__cpu_throttled_pct": 50.0,
            "deployment__probe_success": False,
            "deployment__probe_status_code": 500,
        },
        # Replicas missing: more of them would not be the fix shown.
        {
            "deployment__cpu_pct_of_limits": 97.0,
            "deployment__cpu_throttled_pct": 50.0,
            "deployment__available_replicas": 1,
        },
        # A release in the last hour: new code may be what eats the CPU, not more load.
        {
            "deployment__cpu_pct_of_limits": 97.0,
            "deployment__cpu_throttled_pct": 50.0,
            "deployment__generation_changes": 1,
        },
        # The rollout clock not read: a release cannot be ruled out.
        {
            "deployment__cpu_pct_of_limits": 97.0,
            "deployment__cpu_throttled_pct": 50.0,
            "deployment__generation_changes": None,
        },
    ],
)
def test_a_slow_deployment_not_shown_cpu_bound_is_for_a_person(more):
    found, seen = causes(slow_deployment(**more))
    assert found == {} and seen.unexplained


def test_a_dependency_down_answers_5xx_with_idle_containers_and_goes_to_a_person():
    dep = slow_deployment(
        deployment__probe_success=False,
        deployment__probe_status_code=500,
        deployment__probe_duration=0.1,
        deployment__cpu_pct_of_limits=5.0,
        deployment__cpu_throttled_pct=0.0,
    )
    found, seen = causes(dep)
    assert found == {} and seen.unexplained


def instance(**seen):
    return obj("instance", "app-instance-01", **seen)


def test_an_active_server_whose_guest_answers_no_scrape_is_hung():
    found, seen = causes(instance(instance__status="ACTIVE", instance__up=False))
    assert found == {("instance", "app-instance-01"): "hung"}
    assert "nova status ACTIVE" in seen.findings[0].quote
    assert "up 0" in seen.findings[0].quote


@pytest.mark.parametrize("status", ["ERROR", "SHUTOFF", ""])
def test_a_server_in_error_or_unknown_to_nova_is_not_rebooted(status):
    seen_ = {"instance__up": False}
    if status:
        seen_["instance__status"] = status
    found, _ = causes(instance(**seen_))
    expected = {("instance", "app-instance-01"): "instance_error"} if status == "ERROR" else {}
    assert found == expected
    assert "hung" not in found.values()


def test_an_instance_loaded_past_its_flavors_vcpus_with_memory_full_is_undersized():
    found, seen = causes(
        instance(
            instance__status="ACTIVE",
            instance__up=True,
            instance__load1=6.2,
            instance__vcpus=2,
            instance__memory_used_pct=95.0,
            instance__flavor="m1.medium",
        )
    )
    assert found == {("instance", "app-instance-01"): "cpu_undersized"}
    assert seen.facts["app-instance-01"]["flavor"] == "m1.medium"
    assert "load 6.2 on 2 vCPUs" in seen.findings[0].quote


@pytest.mark.parametrize(
    "more",
    [
        {"instance__load1": 1.0},  # memory full, the vCPUs not busy
        {"instance__memory_used_pct": 50.0},  # busy, memory fine
        {"instance__vcpus": None},  # the flavor unknown: load per vCPU unknown
    ],
)
def test_an_instance_not_shown_undersized_is_not_resized(more):
    seen_ = {
        "instance__status": "ACTIVE",
        "instance__up": True,
        "instance__load1": 6.2,
        "instance__vcpus": 2,
        "instance__memory_used_pct": 95.0,
    }
    seen_.update(more)
    found, seen = causes(instance(**{k: v for k, v in seen_.items() if v is not None}))
    assert found == {}
    if seen_["instance__memory_used_pct"] >= 92:
        assert seen.unexplained
