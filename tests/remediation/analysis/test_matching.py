"""The pure matching core: scores, ranking, targets and parameters out of untrusted text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from remediation.analysis.rules.matching import (
    LEARNED_PREFERENCE,
    MAX_TEXT_CHARS,
    RunbookEntry,
    find_interface,
    find_params,
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


def test_nothing_matching_gives_no_match():
    assert match_runbooks("the printer is out of toner", [RESTART]) == []


def test_runbooks_of_another_category_never_apply_and_blank_ones_always_do():
    network_only = RunbookEntry("n", "restart_vm", ("vm hung",), "r", category="network", id=3)
    assert match_runbooks("vm hung", [network_only], category="server") == []
    assert match_runbooks("vm hung", [network_only], category="Network")[0].runbook is network_only
    assert match_runbooks("vm hung", [RESTART], category="anything")[0].runbook is RESTART


def test_a_learned_runbook_wins_over_a_shipped_one_on_a_comparable_match():
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


def test_huge_text_is_read_only_up_to_the_bound():
    text = ("lorem ipsum " * 200_000) + " out of memory 64 GB"
    assert match_runbooks(text, [MEMORY] * 50) == []  # the symptom sits past the bound
    assert find_params(text, CATALOGUE["increase_memory"]) == {}
    assert len(text) > MAX_TEXT_CHARS


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000), st.text(max_size=100))
def test_any_text_never_raises(text, affected):
    for op in CATALOGUE.values():
        find_params(text, op)
    match_runbooks(text, [MEMORY, RESTART], category=affected)
    similarity(text, affected)


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
