"""Diagnosis before action: every contraindication the analysis must respect, pinned.

The local analyzer runs here on the shipped runbooks (``remediation.seeds``: what a migrated
database holds), without a database: what it proposes depends only on the ticket and the
runbooks.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediation.analysis.base import TicketText
from remediation.analysis.local import LocalAnalyzer, fixes
from remediation.analysis.rules.diagnosis import diagnose
from remediation.analysis.rules.matching import RunbookEntry
from remediation.analysis.rules.vocabulary import DOES_NOT_FIX, FIXES
from remediation.seeds import RUNBOOKS

SHIPPED = [
    RunbookEntry(
        name=r["name"],
        operation=r["operation"],
        symptoms=tuple(r["symptoms"]),
        resolution=r["resolution"],
        params=r.get("params", {}),
        fixes=tuple(r["fixes_causes"]),
        not_for=tuple(r["not_for_causes"]),
    )
    for r in RUNBOOKS
]


def analyze(description: str, *, affected: str, category: str, title: str = "incident"):
    ticket = TicketText(
        title=title, description=description, category=category, affected_system=affected
    )
    return LocalAnalyzer(SHIPPED).analyze(ticket)


POD = "shop/api-7d9f8b6c5-x2k4q"

# (cause the ticket establishes, ticket text): restarting the pod fixes none of them.
RESTART_DOES_NOT_FIX = [
    ("oom_killed", "CrashLoopBackOff. Last State: Terminated, Reason: OOMKilled, Exit Code: 137"),
    ("oom_killed", "container exceeded its memory limit and was killed; crash looping"),
    ("config_error", "Error: configmap \"api-config\" not found. CreateContainerConfigError"),
    ("image_missing", "Failed to pull image \"r.io/api:9.9\": manifest unknown. ImagePullBackOff"),
    ("secret_missing", "Error: secret \"db-creds\" not found"),
    ("env_missing", "crash-looping: environment variable API_TOKEN is not set"),
    ("bad_command", "exec: \"pyhton\": executable file not found in $PATH; StartError"),
    ("bad_command", "Back-off restarting failed container; exit code 127"),
    ("probe_misconfigured",
     "Liveness probe failed: connection refused on 8080; the app listens on port 9090, the probe "
     "points at the wrong port"),
    ("bad_release", "5xx errors since the rollout of v2.4; the previous version was fine"),
]  # fmt: skip


@pytest.mark.parametrize(("cause", "text"), RESTART_DOES_NOT_FIX)
def test_restarting_a_pod_is_never_proposed_for_a_cause_it_does_not_fix(cause, text):
    result = analyze(text, affected=POD, category="kubernetes")
    assert result.diagnosis.cause == cause
    assert all(a.operation != "restart_pod" for a in result.actions)
    assert "restart_pod" in DOES_NOT_FIX and cause in DOES_NOT_FIX["restart_pod"]
    # Nothing in the text recommends the restart that was not proposed.
    assert "Delete the failing pod" not in result.resolution


def test_a_bad_new_version_gets_a_rollback_of_the_owning_deployment_not_a_restart():
    result = analyze(
        "CrashLoopBackOff right after we deployed 3.2.0; panic: nil pointer dereference",
        affected=POD,
        category="kubernetes",
    )
    [action] = result.actions
    # The pod named as affected system: the rollback acts on its deployment, by name.
    assert (action.operation, action.system) == ("rollback_deployment", "shop/api")
    assert action.action_type == "critical_write"


@pytest.mark.parametrize(
    "text",
    [
        "CPU 100%: one thread stuck in catastrophic backtracking of a regex. Add vCPUs to 8.",
        "High CPU since a new firewall rule was added; rule evaluation is expensive. "
        "Go to 8 vCPUs.",
        "CPU ready 20%, the host is overcommitted; CPU 70% in the guest. Go to 8 vCPUs.",
    ],
)
def test_more_vcpus_are_not_proposed_for_a_runaway_regex_a_bad_rule_or_contention(text):
    result = analyze(text, affected="prod-api-04", category="server")
    assert result.actions == []
    assert result.diagnosis.cause in DOES_NOT_FIX["increase_cpu"]
    assert any("increase_cpu" in d for d in result.dropped)


@pytest.mark.parametrize(
    "text",
    [
        "Filesystem / at 98% full on prod-web-03; /var/log is 40 GB, debug logging left on",
        "No space left on device; lsof shows a 30 GB log file (deleted) still open",
        "Filesystem has only 1% available inodes left",
    ],
)
def test_a_full_disk_is_never_answered_with_a_restart(text):
    result = analyze(text, affected="prod-web-03", category="server")
    assert all(a.operation not in ("restart_vm", "expand_volume") for a in result.actions)


def test_a_memory_leak_does_not_get_more_memory():
    result = analyze(
        "Memory leak: RSS grows steadily until the OOM killer fires. Increase memory to 32 GB.",
        affected="prod-app-06",
        category="server",
    )
    assert result.actions == []
    assert result.diagnosis.cause == "memory_leak"


def test_err_disabled_port_is_not_simply_enabled():
    result = analyze(
        "%PM-4-ERR_DISABLE: bpduguard error detected on Gi1/0/12, putting Gi1/0/12 in "
        "err-disable state",
        affected="access-sw-07",
        category="network",
    )
    assert result.actions == []
    assert result.diagnosis.cause == "err_disabled"


def test_rising_crc_errors_are_not_cleared_or_bounced():
    result = analyze(
        "CRC errors on Gi0/1 keep increasing; rx power low",
        affected="core-sw-01",
        category="network",
    )
    assert result.actions == []
    assert result.diagnosis.cause == "physical_layer"


def test_a_vmware_operation_is_never_proposed_on_a_kubernetes_ticket():
    result = analyze(
        "pod deadlocked per the thread dump, requests time out; maybe restart the VM k8s-w-02",
        affected=POD,
        category="kubernetes",
    )
    assert [(a.operation, a.platform) for a in result.actions] == [("restart_pod", "kubernetes")]


def test_scaling_to_zero_is_not_proposed_for_load():
    result = analyze(
        "Traffic spike from the campaign. Scale to 0 replicas.",
        affected="shop/frontend",
        category="kubernetes",
    )
    assert result.actions == []
    # The replica count is never the text's: it comes from what the platform shows.
    assert "nothing was observed" in result.dropped[-1]


def test_scaling_down_by_more_than_half_is_not_proposed_for_load():
    result = analyze(
        "Traffic spike. Scale to 2 replicas from 10.",
        affected="shop/frontend",
        category="kubernetes",
    )
    assert result.actions == []
    assert "nothing was observed" in result.dropped[-1]


def test_negated_evidence_rules_a_cause_out():
    d = diagnose("5xx errors on checkout after the release window, but no recent deployments.")
    assert d.cause != "bad_release"
    assert any("new release" in r for r in d.ruled_out)


def test_a_negated_reason_does_not_count():
    d = diagnose("pod restarting; no OOMKilled events, exit code 1", category="kubernetes")
    assert d.cause != "oom_killed"


def test_two_established_causes_mean_a_person_decides():
    d = diagnose("pod deadlocked, then Last State: Terminated Reason: OOMKilled", category="k8s")
    assert not d.established
    assert d.needs_human and "several causes" in d.needs_human_reason


def test_evidence_is_quoted_from_the_ticket():
    text = "Last State: Terminated\nReason: OOMKilled\nExit Code: 137"
    d = diagnose(text, category="kubernetes")
    assert d.cause == "oom_killed"
    assert all(q in " ".join(text.split()) or q in text for q in d.evidence)


def test_quoted_evidence_starts_and_ends_on_whole_words():
    """A quote is cut at word boundaries, with "…" where the line goes on (it once began
    mid-word: "ntainer web in pod…")."""
    text = (
        "Incident opened by the monitoring pipeline for the production cluster; "
        "container web in pod default/web-7d9f was OOMKilled (exit code 137) after the "
        "memory limit of 512Mi was reached during the nightly batch import of customer data"
    )
    d = diagnose(text, category="kubernetes")
    assert d.evidence
    words = set(text.replace("(", " ").replace(")", " ").split())
    for quote in d.evidence:
        body = quote.strip("…")
        assert body.split()[0] in words and body.split()[-1] in words, quote
        assert quote.startswith("…") and quote.endswith("…"), quote
        assert "OOMKilled" in quote


@given(
    st.text(alphabet="abcdefghij \n", min_size=0, max_size=300),
    st.text(alphabet="abcdefghij \n", min_size=0, max_size=300),
)
def test_every_quote_is_whole_words_of_the_text(left, right):
    text = f"{left}OOMKilled{right}"
    for quote in diagnose(text, category="kubernetes").evidence:
        body = quote.removeprefix("…").removesuffix("…")
        assert len(quote) <= 160
        assert body in " ".join(text.split())
        # Whole words: what precedes and follows the body in the text is a space or nothing.
        flat = " ".join(text.split())
        at = flat.index(body)
        assert at == 0 or flat[at - 1] == " "
        assert at + len(body) == len(flat) or flat[at + len(body)] == " "


def test_confidence_comes_from_how_well_the_cause_is_established():
    one = diagnose("the VM is hung", category="server")
    two = diagnose("the VM is hung, soft lockup on CPU#1, host healthy", category="server")
    symptom = diagnose("web service not responding", category="server")
    assert one.established and two.established and not symptom.established
    assert two.confidence > one.confidence > symptom.confidence


def test_every_operation_fixes_something_and_never_what_it_does_not_fix():
    for operation, causes in FIXES.items():
        assert causes
        assert not causes & DOES_NOT_FIX.get(operation, frozenset())


def test_a_runbook_cannot_claim_a_cause_the_catalogue_says_it_does_not_fix():
    runbook = RunbookEntry("x", "restart_pod", ("s",), "r", fixes=("oom_killed", "hung"))
    assert not fixes(runbook, "oom_killed")
    assert fixes(runbook, "hung")
    narrowed = RunbookEntry("y", "restart_pod", ("s",), "r", not_for=("hung",))
    assert not fixes(narrowed, "hung")
    learned = RunbookEntry("z", "restart_pod", ("s",), "r", learned=True, fixes=("load_spike",))
    assert not fixes(learned, "load_spike")
