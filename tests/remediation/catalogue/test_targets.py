"""The catalogue's target rule: object kinds, platforms and scope; and the parsing that
turns affected_system and ticket text into objects."""

from __future__ import annotations

import pytest

from remediation.catalogue.rules.operations import (
    CATALOGUE,
    ActionType,
    ObjectKind,
    Platform,
    effective_action_type,
    validate_suggestions,
)
from remediation.catalogue.rules.targets import (
    ObjectRef,
    belongs_to,
    canonical_affected,
    choose_target,
    classify_name,
    find_objects,
    kind_refusal,
    parse_affected,
    pod_owner,
    scope_refusal,
    target_refusal,
)

POD = ObjectRef(ObjectKind.POD, "shop/web-7d9f8b6c5-x2k4q")
STS_POD = ObjectRef(ObjectKind.POD, "data/zk-1")
DEPLOY = ObjectRef(ObjectKind.DEPLOYMENT, "shop/web")
HOST = ObjectRef(ObjectKind.HOST, "prod-web-01")
VM = ObjectRef(ObjectKind.VM, "prod-web-01")
VOLUME = ObjectRef(ObjectKind.VOLUME, "vol-data-01")
PVC = ObjectRef(ObjectKind.PVC, "db/data-pg-0")


def test_every_target_parameter_declares_its_kind():
    for op in CATALOGUE.values():
        spec = op.param(op.target_param)
        assert spec is not None and spec.kind is not None, op.key


@pytest.mark.parametrize(
    ("operation", "ref", "platform", "refused"),
    [
        ("rollback_deployment", POD, Platform.KUBERNETES,
         "is a pod; rollback_deployment takes a deployment"),
        ("scale_deployment", POD, Platform.KUBERNETES, "takes a deployment"),
        ("restart_pod", DEPLOY, Platform.KUBERNETES, "takes a pod"),
        ("restart_vm", POD, Platform.KUBERNETES,
         "is a vmware operation; this ticket is about kubernetes"),
        ("restart_vm", POD, None, "is a pod (kubernetes); restart_vm acts on a vm (vmware)"),
        ("restart_vm", HOST, Platform.KUBERNETES, "vmware operation"),
        ("restart_vm", HOST, None, "could be any host"),
        ("reboot_instance", VM, Platform.OPENSTACK, "is a vm (vmware)"),
        ("expand_volume", PVC, Platform.KUBERNETES, "storage operation"),
        ("expand_volume", PVC, None, "is a pvc (kubernetes)"),
        ("enable_port", HOST, Platform.VMWARE, "network operation"),
        ("restart_vm", HOST, Platform.VMWARE, None),
        ("restart_vm", VM, None, None),
        ("reboot_instance", HOST, Platform.OPENSTACK, None),
        ("enable_port", HOST, Platform.NETWORK, None),
        ("restart_pod", POD, Platform.KUBERNETES, None),
        ("rollback_deployment", DEPLOY, None, None),
        # A volume is storage, whatever host it is attached to.
        ("expand_volume", VOLUME, Platform.VMWARE, None),
    ],
)  # fmt: skip
def test_wrong_kind_or_platform_is_refused(operation, ref, platform, refused):
    reason = kind_refusal(CATALOGUE[operation], ref, platform)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_pods_belong_to_their_deployment_or_statefulset_by_name():
    assert pod_owner(POD) == DEPLOY
    assert pod_owner(STS_POD) == ObjectRef(ObjectKind.STATEFULSET, "data/zk")
    assert pod_owner(ObjectRef(ObjectKind.POD, "shop/standalone")) is None
    assert belongs_to(POD, DEPLOY)
    assert belongs_to(DEPLOY, POD)
    assert not belongs_to(ObjectRef(ObjectKind.POD, "shop/api-7d9f8b6c5-x2k4q"), DEPLOY)
    assert not belongs_to(ObjectRef(ObjectKind.POD, "other/web-7d9f8b6c5-x2k4q"), DEPLOY)


@pytest.mark.parametrize(
    ("ref", "affected", "inside"),
    [
        (HOST, HOST, True),
        (ObjectRef(ObjectKind.HOST, "prod-db-01"), HOST, False),
        (ObjectRef(ObjectKind.VM, "PROD-WEB-01"), HOST, True),
        # A whole cluster does not let the text pick any object in it.
        (POD, ObjectRef(ObjectKind.CLUSTER, "k8s-prod"), False),
        # Nor a namespace, by name alone (a scope: only what the platform showed in it).
        (POD, ObjectRef(ObjectKind.NAMESPACE, "shop"), False),
        (POD, ObjectRef(ObjectKind.NAMESPACE, "billing"), False),
        # A volume is not a host's, VM's or instance's by kind alone.
        (VOLUME, ObjectRef(ObjectKind.HOST, "fileserver-01"), False),
        (VOLUME, ObjectRef(ObjectKind.VM, "prod-web-03"), False),
        (VOLUME, ObjectRef(ObjectKind.VOLUME, "vol-other"), False),
        (ObjectRef(ObjectKind.DEVICE, "core-sw-02"), ObjectRef(ObjectKind.HOST, "core-sw-01"),
         False),
    ],
)  # fmt: skip
def test_scope_is_the_affected_system_or_what_belongs_to_it(ref, affected, inside):
    assert (scope_refusal(ref, affected) is None) is inside


def test_the_platforms_relations_widen_the_scope_and_nothing_else():
    vm = ObjectRef(ObjectKind.VM, "prod-web-03")
    logs = ObjectRef(ObjectKind.VOLUME, "vol-logs-01")
    assert scope_refusal(logs, vm) is not None
    assert scope_refusal(logs, vm, frozenset({("volume", "vol-logs-01")})) is None
    # A relation of another kind or name does not stand in for it.
    assert scope_refusal(logs, vm, frozenset({("vm", "vol-logs-01")})) is not None
    assert scope_refusal(logs, vm, frozenset({("volume", "vol-data-01")})) is not None


@pytest.mark.parametrize(
    ("text", "stored", "refused"),
    [
        ("prod-web-01", "prod-web-01", False),
        ("  prod-web-01 ", "prod-web-01", False),
        ("prod-web-01:9100", "prod-web-01", False),
        ("payments/api", "payments/api", False),
        ("deployment/payments/api", "deployment/payments/api", False),
        ("core-sw-01:Gi1/0/1", "core-sw-01:Gi1/0/1", False),
        ("core-sw-01 Gi0/3", "core-sw-01:Gi0/3", False),
        ("", "", False),
        ("default/", None, True),
        ("/default/api", None, True),
        ("default//api", None, True),
        ("default/api/extra", None, True),
        ("a/b/c/d", None, True),
        ("http://app-01:8080/health", None, True),
        ("https://app-01", None, True),
        ("vm:", None, True),
        ("prod web 01", None, True),
    ],
)
def test_the_affected_system_is_canonical_or_refused(text, stored, refused):
    value, refusal = canonical_affected(text)
    assert (refusal is not None) is refused, refusal
    if stored is not None:
        assert value == stored


def test_no_affected_system_means_no_scope_to_check():
    assert scope_refusal(HOST, None) is None


def test_the_rule_checks_kind_before_scope():
    reason = target_refusal(
        CATALOGUE["restart_vm"],
        ObjectRef(ObjectKind.HOST, "prod-db-01"),
        platform=Platform.VMWARE,
        affected=HOST,
    )
    assert reason is not None and "not the affected system 'prod-web-01'" in reason


@pytest.mark.parametrize(
    ("affected", "expected"),
    [
        ("prod-web-01", ObjectRef(ObjectKind.HOST, "prod-web-01")),
        ("shop/web", ObjectRef(ObjectKind.DEPLOYMENT, "shop/web")),
        ("shop/web-7d9f8b6c5-x2k4q", ObjectRef(ObjectKind.POD, "shop/web-7d9f8b6c5-x2k4q")),
        ("data/zk-1", ObjectRef(ObjectKind.POD, "data/zk-1")),
        ("deployment/shop/web", ObjectRef(ObjectKind.DEPLOYMENT, "shop/web")),
        ("statefulset/data/zk", ObjectRef(ObjectKind.STATEFULSET, "data/zk")),
        ("vm:prod-web-01", ObjectRef(ObjectKind.VM, "prod-web-01")),
        ("instance:app-03", ObjectRef(ObjectKind.INSTANCE, "app-03")),
        ("vol-data-01", ObjectRef(ObjectKind.VOLUME, "vol-data-01")),
        ("core-sw-01:Gi0/1", ObjectRef(ObjectKind.DEVICE, "core-sw-01")),
        ("k8s-prod-01", ObjectRef(ObjectKind.CLUSTER, "k8s-prod-01")),
        ("", None),
        ("not a name!", None),
    ],
)
def test_affected_system_is_parsed_into_an_object(affected, expected):
    assert parse_affected(affected) == expected


def test_objects_are_found_in_alert_labels_kubectl_and_prose():
    text = (
        'KubePodCrashLooping pod="api-5f4d3c2b1-z9x8c", namespace="orders"\n'
        "kubectl -n orders rollout undo deploy/api\n"
        "volume vol-logs-02 on fileserver-01, interface Gi1/0/24, node_exporter 10.0.0.5:9100,"
        " task kworker/2:1"
    )
    found = find_objects(text)
    assert ObjectRef(ObjectKind.POD, "orders/api-5f4d3c2b1-z9x8c") in found
    assert ObjectRef(ObjectKind.DEPLOYMENT, "orders/api") in found
    assert ObjectRef(ObjectKind.VOLUME, "vol-logs-02") in found
    assert ObjectRef(ObjectKind.INTERFACE, "Gi1/0/24") in found
    assert ObjectRef(ObjectKind.HOST, "fileserver-01") in found
    assert all("kworker" not in ref.name for ref in found)


def test_classify_name_uses_the_word_before_it():
    assert classify_name("web", hint=ObjectKind.POD) == ObjectRef(ObjectKind.POD, "web")
    assert classify_name("sw-01", hint=ObjectKind.DEVICE) == ObjectRef(ObjectKind.DEVICE, "sw-01")
    assert classify_name("-rf") is None


def test_choose_target_derives_the_deployment_from_the_affected_pod():
    ref, reason, derived = choose_target(
        CATALOGUE["rollback_deployment"], affected=POD, objects=[], platform=Platform.KUBERNETES
    )
    assert (ref, reason, derived) == (DEPLOY, "", True)


def test_choose_target_takes_a_pod_of_the_affected_deployment_only():
    other = ObjectRef(ObjectKind.POD, "billing/pay-5f4d3c2b1-z9x8c")
    ref, _, _ = choose_target(
        CATALOGUE["restart_pod"], affected=DEPLOY, objects=[other, POD], platform=None
    )
    assert ref == POD
    ref, reason, _ = choose_target(
        CATALOGUE["restart_pod"], affected=DEPLOY, objects=[other], platform=None
    )
    assert ref is None and "no pod within the affected system 'shop/web'" in reason


@pytest.mark.parametrize(
    ("params", "current", "expected", "why"),
    [
        ({"replicas": 0}, None, ActionType.CRITICAL_WRITE, "scaling to zero"),
        ({"replicas": 4}, {"replicas": 10}, ActionType.CRITICAL_WRITE, "more than half"),
        ({"replicas": 5}, {"replicas": 10}, ActionType.SAFE_WRITE, ""),
        ({"replicas": 12}, {"replicas": 10}, ActionType.SAFE_WRITE, ""),
        ({"replicas": 3}, None, ActionType.SAFE_WRITE, ""),
    ],
)
def test_destructive_parameters_raise_the_risk_class(params, current, expected, why):
    op = CATALOGUE["scale_deployment"]
    action_type, reason = effective_action_type(op, {"deployment": "a/b", **params}, current)
    assert action_type is expected
    assert why in reason


def test_shrinking_resources_is_critical_and_a_critical_operation_stays_critical():
    fake = CATALOGUE["restart_vm"]
    assert effective_action_type(fake, {"memory_gb": 8}, {"memory_gb": 16})[0] is (
        ActionType.CRITICAL_WRITE
    )
    assert effective_action_type(CATALOGUE["increase_memory"], {"memory_gb": 64})[0] is (
        ActionType.CRITICAL_WRITE
    )


def test_scaling_to_zero_is_classed_critical_by_the_catalogue_itself():
    # The attack from issue [4/10]: "scaling to 0 replicas was classed safe_write".
    [action], _ = validate_suggestions(
        [{"operation": "scale_deployment", "params": {"deployment": "shop/web", "replicas": 0}}]
    )
    assert action.action_type == "critical_write"
    assert action.risk_level == "high"
    [action], _ = validate_suggestions(
        [{"operation": "scale_deployment", "params": {"deployment": "shop/web", "replicas": 3}}]
    )
    assert action.action_type == "safe_write"
