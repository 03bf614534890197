"""The pure matching core: scores, ranking, targets and parameters out of untrusted text."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from remediation.analysis.rules.matching import (
    LEARNED_PREFERENCE,
    MAX_CONFIDENCE,
    MAX_TEXT_CHARS,
    RunbookEntry,
    confidence_for,
    find_interface,
    find_params,
    find_target,
    match_runbooks,
    similarity,
)
from remediation.catalogue.rules.operations import CATALOGUE

MEMORY = RunbookEntry(
    name="memory",
    operation="increase_memory",
    symptoms=("out of memory", "oom", "memory pressure"),
    resolution="Add memory.",
    id=1,
)
RESTART = RunbookEntry(
    name="restart",
    operation="restart_vm",
    symptoms=("vm hung", "not responding"),
    resolution="Restart.",
    id=2,
)


def test_an_exact_phrase_matches_and_scores_by_coverage():
    [match] = match_runbooks("prod-web-01 is out of memory", [MEMORY, RESTART])
    assert match.runbook is MEMORY
    assert match.best == 1.0
    assert match.matched == ("out of memory",)
    # best * (0.7 + 0.3 * coverage); coverage = (1 + 0.25 + 0) / 3, where 0.25 is
    # 0.5 (partial weight) * 1/2 (half of "memory pressure" is in the text)
    assert abs(match.score - 0.825) < 1e-9


def test_matching_ignores_case_punctuation_and_unicode_forms():
    [match] = match_runbooks("OUT-OF-MEMORY!!! ＯＯＭ killer fired", [MEMORY])
    assert set(match.matched) == {"out of memory", "oom"}


def test_a_word_inside_another_word_does_not_match():
    assert match_runbooks("zoom meeting about bloom filters", [MEMORY]) == []


def test_partial_phrases_score_less_than_exact_ones():
    [match] = match_runbooks("the memory ran out", [MEMORY])
    assert match.best == 0.5
    assert match.score < 0.5


def test_nothing_matching_gives_no_match_and_zero_confidence():
    assert match_runbooks("the printer is out of toner", [RESTART]) == []
    assert confidence_for(None, usable=True) == 0.0


def test_confidence_is_capped_and_halved_when_no_action_could_be_built():
    [match] = match_runbooks("out of memory, oom, memory pressure", [MEMORY])
    assert confidence_for(match, usable=True) == MAX_CONFIDENCE
    assert confidence_for(match, usable=False) == round(MAX_CONFIDENCE / 2, 3)


def test_runbooks_of_another_category_never_apply_and_blank_ones_always_do():
    network_only = RunbookEntry("n", "restart_vm", ("vm hung",), "r", category="network", id=3)
    assert match_runbooks("vm hung", [network_only], category="server") == []
    assert match_runbooks("vm hung", [network_only], category="Network")[0].runbook is network_only
    assert match_runbooks("vm hung", [RESTART], category="anything")[0].runbook is RESTART


def test_a_learned_runbook_wins_over_a_seed_one_on_a_comparable_match():
    learned = RunbookEntry(
        name="learned",
        operation="increase_memory",
        symptoms=("heap", "memory", "java", "pressure"),
        resolution="What actually worked.",
        category="server",
        learned=True,
        id=10,
    )
    seed_restart = RunbookEntry("seed", "restart_vm", ("memory pressure",), "Restart.", id=4)
    matches = match_runbooks(
        "Java heap memory pressure on prod-app-01", [seed_restart, learned], category="server"
    )
    assert [m.runbook.name for m in matches] == ["learned", "seed"]
    assert matches[0].rank >= matches[0].score + LEARNED_PREFERENCE


def test_a_learned_runbook_that_only_shares_a_word_gets_no_preference():
    learned = RunbookEntry(
        "learned",
        "increase_memory",
        ("heap", "java", "gc", "pressure", "leak"),
        "r",
        learned=True,
        id=10,
    )
    seed = RunbookEntry("seed", "restart_vm", ("vm hung", "not responding"), "r", id=4)
    matches = match_runbooks("vm hung, java app not responding", [learned, seed])
    assert matches[0].runbook.name == "seed"


def test_huge_text_is_bounded_and_fast():
    text = ("lorem ipsum " * 200_000) + " out of memory"
    started = time.monotonic()
    assert match_runbooks(text, [MEMORY] * 50) == []  # the symptom sits past the bound
    target = find_target(text, CATALOGUE["restart_vm"])
    params = find_params(text, CATALOGUE["increase_memory"])
    assert time.monotonic() - started < 5
    assert target is None and params == {}
    assert len(text) > MAX_TEXT_CHARS


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000), st.text(max_size=100))
def test_any_text_never_raises(text, affected):
    for op in CATALOGUE.values():
        target = find_target(text, op, affected_system=affected)
        if target is not None:
            assert op.param(op.target_param).check(target) is None
        find_params(text, op)
    match_runbooks(text, [MEMORY, RESTART], category=affected)
    similarity(text, affected)


def test_it_finds_targets_of_each_shape():
    assert find_target("VM prod-web-01 hung (INC-12345)", CATALOGUE["restart_vm"]) == "prod-web-01"
    assert (
        find_target("pod payments/api-7d9f in and/or", CATALOGUE["restart_pod"])
        == "payments/api-7d9f"
    )
    assert (
        find_target("volume vol-data-01 at 95% on fileserver-01", CATALOGUE["expand_volume"])
        == "vol-data-01"
    )
    assert (
        find_target("Gi0/1 errors on core-sw-01 via app-02", CATALOGUE["clear_interface_errors"])
        == "core-sw-01"
    )
    assert (
        find_target("instance app-instance-03 hung", CATALOGUE["reboot_instance"])
        == "app-instance-03"
    )


def test_a_name_after_its_keyword_beats_affected_system_which_beats_other_names():
    op = CATALOGUE["expand_volume"]
    assert find_target("volume vol-9 full", op, affected_system="fileserver-01") == "vol-9"
    assert find_target("disk full", op, affected_system="fileserver-01") == "fileserver-01"
    assert (
        find_target("web-02 disk full", CATALOGUE["restart_vm"], affected_system="web-01")
        == "web-01"
    )
    assert find_target("web-02 disk full", CATALOGUE["restart_vm"]) == "web-02"


def test_kubernetes_targets_need_a_namespace():
    op = CATALOGUE["restart_pod"]
    assert find_target("pod web-7d9f crashing", op, affected_system="k8s-prod-01") is None


def test_ticket_ids_and_standards_are_not_hosts():
    assert find_target("INC-12345 CVE-2024-1234 utf-8 sha-256", CATALOGUE["restart_vm"]) is None


def test_it_reads_parameters_a_ticket_states():
    assert find_params("increase memory from 8GB to 32 GB", CATALOGUE["increase_memory"]) == {
        "memory_gb": 32
    }
    assert find_params("go to 8 vCPUs", CATALOGUE["increase_cpu"]) == {"cpus": 8}
    assert find_params("scale to 5 replicas", CATALOGUE["scale_deployment"]) == {"replicas": 5}
    assert find_params("set replicas to 3", CATALOGUE["scale_deployment"]) == {"replicas": 3}
    assert find_params("back to revision 41", CATALOGUE["rollback_deployment"]) == {"revision": 41}
    assert find_params("expand to 2 TB", CATALOGUE["expand_volume"]) == {"size_gb": 2048}
    assert find_params("older than 14 days, keep the last 2", CATALOGUE["clear_snapshots"]) == {
        "older_than_days": 14,
        "keep_last": 2,
    }
    assert find_params("resize to flavor m1.xlarge", CATALOGUE["resize_instance"]) == {
        "flavor": "m1.xlarge"
    }
    assert find_params("errors on Te1/1/1.100", CATALOGUE["restart_interface"]) == {
        "interface": "Te1/1/1.100"
    }
    assert find_params("scale to 99999999999 replicas", CATALOGUE["scale_deployment"]) == {}


def test_interfaces_of_common_vendors_are_recognised():
    for name in (
        "Gi0/1",
        "GigabitEthernet1/0/24",
        "xe-0/0/0",
        "eth0",
        "Port-channel1",
        "Ethernet1/1",
    ):
        assert find_interface(f"errors on {name} today") == name


def test_similarity_is_jaccard_of_content_words():
    assert similarity("disk full on web", "web disk full") == 1.0
    assert similarity("", "x") == 0.0
    assert 0 < similarity("disk full on web", "disk latency") < 1
