"""The pure rules of alert intake: label mapping, ticket text, ids, and storm verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from remediation.alerts.rules import (
    CATCH_ALL,
    MappingRule,
    alert_ticket_id,
    choose_rule,
    fallback_fingerprint,
    map_alert,
    render_system,
    ticket_text,
)
from remediation.tickets.rules.storm import (
    StormState,
    Verdict,
    asks_for_more,
    storm_key,
    storm_verdict,
)

SEVERITIES = {"critical": "critical", "warning": "medium", "info": "low", "page": "high"}
POD = MappingRule(
    name="pod",
    required_labels=("namespace", "pod"),
    system_template="{namespace}/{pod}",
    default_category="kubernetes",
    severity_values=SEVERITIES,
)
INSTANCE = MappingRule(
    name="instance",
    required_labels=("instance",),
    system_template="{instance}",
    strip_port=True,
    severity_values=SEVERITIES,
)
RULES = [POD, INSTANCE]


def test_the_first_rule_whose_labels_are_present_applies():
    assert choose_rule({"namespace": "shop", "pod": "web-1", "instance": "x"}, RULES) is POD
    assert choose_rule({"pod": "web-1", "instance": "x:9100"}, RULES) is INSTANCE
    assert choose_rule({"alertname": "X"}, RULES) is CATCH_ALL


def test_an_empty_label_does_not_satisfy_a_rule():
    assert choose_rule({"namespace": "", "pod": "web-1"}, RULES) is CATCH_ALL


def test_instance_loses_its_port_and_pods_are_namespaced():
    mapped = map_alert({"instance": "prod-web-01:9100", "severity": "critical"}, RULES)
    assert (mapped.affected_system, mapped.severity, mapped.category) == (
        "prod-web-01",
        "critical",
        "server",
    )
    assert mapped.system_labels == ("instance",)
    pod = map_alert({"namespace": "shop", "pod": "web-7d9f", "category": "Cache"}, RULES)
    assert pod.affected_system == "shop/web-7d9f"
    assert pod.category == "cache"
    assert pod.category_label == "category"


def test_ipv6_instances_keep_their_address():
    assert render_system("{instance}", {"instance": "[::1]:9100"}, strip_port=True) == "[::1]"


def test_a_template_names_labels_only():
    assert render_system("{a}/{b.__class__}", {"a": "x"}, strip_port=False) == "x/{b.__class__}"


def test_an_unknown_severity_keeps_the_alert_with_the_default_and_a_note():
    mapped = map_alert({"instance": "h", "severity": "P1"}, RULES)
    assert mapped.severity == "medium"
    assert mapped.notes and "P1" in mapped.notes[0]


def test_a_severity_named_like_ours_is_taken_as_is():
    assert map_alert({"instance": "h", "severity": "HIGH"}, RULES).severity == "high"


def test_auto_remediation_is_off_unless_the_rule_opts_in():
    assert map_alert({"instance": "h"}, RULES).enable_auto_remediation is False
    opted = MappingRule(name="x", enable_auto_remediation=True)
    assert map_alert({}, [opted]).enable_auto_remediation is True


def test_ticket_text_reads_name_summary_description_and_sorted_labels():
    title, description = ticket_text(
        {"alertname": "InstanceDown", "job": "node", "instance": "h:9100"},
        {"summary": "Instance h\ndown", "description": "Down for 5m", "runbook_url": "u"},
    )
    assert title == "InstanceDown: Instance h down"
    assert description.startswith("Instance h down\n\nDown for 5m\n\nAnnotations:\nrunbook_url: u")
    assert description.endswith("Labels:\nalertname=InstanceDown\ninstance=h:9100\njob=node")


def test_ticket_text_is_clipped_to_the_ticket_limits():
    title, description = ticket_text({"alertname": "A" * 300}, {"description": "d" * 30_000})
    assert len(title) == 200 and title.endswith("…")
    assert len(description) == 20_000


def test_the_ticket_id_is_stable_per_firing_and_fits_the_ticket_rules():
    start = datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=UTC)
    tid = alert_ticket_id("0123456789abcdef", start, 7)
    assert tid == "am-0123456789abcdef-20261127T010203.456Z-7"
    later = start + timedelta(seconds=1)
    assert alert_ticket_id("0123456789abcdef", later, 7) != tid
    other_zone = start.astimezone(ZoneInfo("Europe/Rome"))
    assert alert_ticket_id("0123456789abcdef", other_zone, 7) == tid
    # Another sender's firing of the same alert is another ticket.
    assert alert_ticket_id("0123456789abcdef", start, 8) != tid
    # A long fingerprint and a large user id still fit the 64 characters of a ticket_id.
    assert len(alert_ticket_id("f" * 200, start, 10**12)) <= 64


def test_the_fallback_fingerprint_depends_on_labels_not_their_order():
    a = fallback_fingerprint({"a": "1", "b": "2"})
    assert a == fallback_fingerprint({"b": "2", "a": "1"})
    assert a != fallback_fingerprint({"a": "1", "b": "3"})
    assert len(a) == 16


NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("state", "verdict", "count"),
    [
        (StormState(False, False, None, 0), Verdict.CREATE, 1),
        (StormState(True, True, NOW - 2 * HOUR, 1), Verdict.JOIN_OPEN, 1),
        (StormState(True, False, NOW - timedelta(minutes=5), 1), Verdict.CREATE, 2),
        (StormState(True, False, NOW - timedelta(minutes=5), 3), Verdict.JOIN_LIMIT, 3),
        (StormState(True, False, NOW - 2 * HOUR, 3), Verdict.CREATE, 1),
    ],
)
def test_storm_verdicts(state, verdict, count):
    outcome = storm_verdict(state, now=NOW, window=HOUR, limit=3)
    assert outcome.verdict == verdict
    assert outcome.window_tickets == count


def test_the_storm_key_ignores_case_and_spaces_of_the_target():
    assert storm_key("h", " Prod-Web-01 ", 1) == storm_key("h", "prod-web-01", 1)
    assert storm_key("h", "prod-web-01", 1) != storm_key("h", "prod-web-02", 1)
    assert storm_key("h", "prod-web-01", 1) != storm_key("g", "prod-web-01", 1)


def test_the_storm_key_names_the_submitter():
    assert storm_key("h", "prod-web-01", 1) != storm_key("h", "prod-web-01", 2)


@pytest.mark.parametrize(
    ("state", "verdict"),
    [
        # An open ticket past its absorbing time is replaced, not joined, limit or not.
        (StormState(True, True, NOW - 7 * HOUR, 5, NOW - 7 * HOUR), Verdict.CREATE),
        (StormState(True, True, NOW - HOUR / 2, 1, NOW - HOUR / 2), Verdict.JOIN_OPEN),
        # A submission asking for more than the ticket has is never absorbed.
        (StormState(True, True, NOW - HOUR / 2, 1, submission_stronger=True), Verdict.CREATE),
        (
            StormState(True, False, NOW - timedelta(minutes=5), 3, submission_stronger=True),
            Verdict.CREATE,
        ),
    ],
)
def test_open_tickets_absorb_for_a_bounded_time_and_never_a_stronger_submission(state, verdict):
    outcome = storm_verdict(state, now=NOW, window=HOUR, limit=3, max_open=6 * HOUR)
    assert outcome.verdict is verdict


def test_asking_for_more_is_a_higher_severity_or_an_opt_in():
    base = {"ticket_severity": "high", "ticket_auto_remediation": False}
    assert asks_for_more(severity="critical", auto_remediation=False, **base)
    assert asks_for_more(severity="low", auto_remediation=True, **base)
    assert not asks_for_more(severity="high", auto_remediation=False, **base)
    assert not asks_for_more(severity="low", auto_remediation=False, **base)
