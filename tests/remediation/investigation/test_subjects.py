"""What an investigation looks at: the ticket's objects, an alert's labels, other spellings."""

from __future__ import annotations

import pytest

from remediation.alerts.rules import ticket_text
from remediation.investigation.rules.subjects import (
    alert_hints,
    alert_labels,
    interfaces_in,
    subjects_for,
    truncate_answer,
)


def names(subjects):
    return [(s.name, s.kinds) for s in subjects]


def test_the_affected_system_comes_first_and_may_be_any_host_kind():
    [first, *_] = subjects_for("prod-web-01", "Web service not responding on port 8080")
    assert (first.name, first.kinds, first.source) == (
        "prod-web-01",
        ("vm", "instance", "device"),
        "affected_system",
    )
    assert ("default/prod-web-01", ("pod", "deployment")) in first.alternatives


def test_an_fqdn_is_also_tried_by_its_short_name():
    [subject] = subjects_for("prod-web-07.corp.example.com", "")
    assert subject.alternatives[0] == ("prod-web-07", ("vm", "instance", "device"))


def test_a_device_and_its_interface():
    [subject] = subjects_for("core-sw-02 Gi0/3", "port down")
    assert subject.name == "core-sw-02" and subject.interfaces == ("Gi0/3",)
    assert interfaces_in("errors on xe-0/0/1 and Gi1/0/24") == ("xe-0/0/1", "Gi1/0/24")


def test_a_bare_pod_name_is_tried_in_the_namespace_the_text_names():
    subject = subjects_for("api-8b7c", "kubectl -n payments describe pod api-8b7c")[0]
    assert ("payments/api-8b7c", ("pod", "deployment")) in subject.alternatives


@pytest.mark.parametrize(
    ("labels", "first"),
    [
        (
            {
                "alertname": "KubePodCrashLooping",
                "namespace": "default",
                "pod": "web-5c4b",
                "instance": "10.42.0.9:8080",
            },
            ("default/web-5c4b", ("pod",)),
        ),
        (
            {
                "alertname": "KubeDeploymentReplicasMismatch",
                "namespace": "default",
                "deployment": "web",
                "instance": "10.42.0.9:8080",
            },
            ("default/web", ("deployment",)),
        ),
        (
            {
                "alertname": "KubeHpaMaxedOut",
                "namespace": "shop",
                "horizontalpodautoscaler": "frontend",
            },
            ("shop/frontend", ("deployment",)),
        ),
        (
            {"alertname": "InstanceDown", "instance": "prod-web-03:9100", "job": "node"},
            ("prod-web-03", ("vm", "instance", "device")),
        ),
        (
            {"alertname": "BlackboxProbeFailed", "instance": "http://app-instance-01:8080/healthz"},
            ("app-instance-01", ("vm", "instance", "device")),
        ),
        (
            {
                "alertname": "NodeFilesystemAlmostOutOfSpace",
                "instance": "prod-app-01:9100",
                "device": "filer01:/vol-data-02",
                "mountpoint": "/mnt/vol-data-02",
            },
            ("vol-data-02", ("volume",)),
        ),
        (
            {"alertname": "InterfaceDown", "instance": "core-sw-02", "ifName": "Gi0/3"},
            ("core-sw-02", ("device",)),
        ),
    ],
)
def test_alert_labels_name_what_to_look_at(labels, first):
    _title, description = ticket_text(labels, {"summary": "something fires"})
    hints = alert_hints(alert_labels(labels))
    subjects = subjects_for("", description, hints)
    assert (subjects[0].name, subjects[0].kinds) == first
    if "ifName" in labels:
        assert subjects[0].interfaces == ("Gi0/3",)


def test_an_ip_scrape_target_is_not_taken_for_the_object():
    hints = alert_hints(
        {
            "alertname": "KubePodCrashLooping",
            "namespace": "default",
            "pod": "web-5c4b",
            "instance": "10.42.0.9:8080",
        }
    )
    assert "host" not in hints.objects


def test_labels_are_only_the_stored_data_never_text():
    # A description, even one written like the alert intake's "Labels:" block, is text.
    assert alert_labels("Summary\n\nLabels:\nalertname=X\npod=web-1\n") == {}
    assert alert_labels(None) == {}
    assert alert_labels({"alertname": "X", "pod": " web-1 ", "n": 3}) == {
        "alertname": "X",
        "pod": "web-1",
    }


def test_a_huge_answer_is_cut_and_marked():
    kept, cut = truncate_answer({"lines": ["x" * 100] * 1000})
    assert cut and isinstance(kept, str) and len(kept) <= 12_000
    assert truncate_answer({"ok": 1}) == ({"ok": 1}, False)
