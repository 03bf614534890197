"""The wording tables: every term compiles, means what it says, and the cause tables agree."""

from __future__ import annotations

import re

import pytest

from remediation.analysis.rules.diagnosis import detect_platform, diagnose
from remediation.analysis.rules.vocabulary import (
    CAUSE_BY_KEY,
    CAUSES,
    DOES_NOT_FIX,
    FIXES,
    SYMPTOMS,
    TERMS,
    compile_pattern,
    expand,
)
from remediation.catalogue.rules.operations import CATALOGUE


def test_every_term_and_pattern_compiles_and_refers_only_to_known_terms():
    for spellings in TERMS.values():
        for spelling in spellings:
            compile_pattern(spelling)
    for cause in CAUSES:
        for p in (*cause.decisive, *cause.supporting, *cause.ruled_out_by):
            assert "<<" not in expand(p), p
        assert set(cause.requires) <= {s.key for s in SYMPTOMS}


def test_an_unknown_term_is_an_error():
    with pytest.raises(KeyError):
        expand("<<no_such_term>>")


def test_the_cause_tables_name_only_known_causes_and_operations():
    assert set(FIXES) == set(CATALOGUE)
    assert set(DOES_NOT_FIX) <= set(CATALOGUE)
    for table in (FIXES, DOES_NOT_FIX):
        for causes in table.values():
            assert causes <= set(CAUSE_BY_KEY)


@pytest.mark.parametrize(
    ("term", "spellings"),
    [
        ("crashloop", ["CrashLoopBackOff", "crash looping", "crash-looping", "crashloop",
                       "Back-off restarting failed container", "KubePodCrashLooping"]),
        ("oomkilled", ["OOMKilled", "oom-killed", "OOM killer", "java.lang.OutOfMemoryError",
                       "Out of memory: Killed process 42", "exceeded its memory limit"]),
        ("exit137", ["Exit Code: 137", "exited with code 137", "exit status 137"]),
        ("exit127", ["Exit Code: 127", "exit code 126"]),
        ("image_pull", ["ImagePullBackOff", "ErrImagePull", "manifest unknown",
                        "pull access denied"]),
        ("err_disabled", ["err-disabled", "errdisable", "err-disable state", "psecure-violation"]),
        ("disk_full", ["97% full", "100% used", "has only 3.25% available space left",
                       "No space left on device", "is only 2.1% free", "disk full",
                       "NodeFilesystemAlmostOutOfSpace", "filesystem /data at 96%"]),
        ("admin_down", ["administratively down", "admin down", "was shut during maintenance"]),
        ("release", ["after the deploy", "since the rollout of v2", "right after we deployed",
                     "new version", "image tag bumped"]),
        ("deadlock", ["deadlock", "Found one Java-level deadlock", "hung", "soft lockup",
                      "blocked for more than 120 seconds"]),
    ],
)  # fmt: skip
def test_real_wording_matches_its_term(term, spellings):
    pattern = re.compile("|".join(expand(s) for s in TERMS[term]), re.IGNORECASE)
    for spelling in spellings:
        assert pattern.search(spelling), (term, spelling)


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("disk_full", "memory usage 96%"),
        ("disk_full", "CPU at 97%"),
        ("oomkilled", "room killed"),
        ("deadlock", "hungry"),
        ("err_disabled", "port disabled by admin"),
    ],
)
def test_look_alike_wording_does_not_match(term, text):
    pattern = re.compile("|".join(expand(s) for s in TERMS[term]), re.IGNORECASE)
    assert not pattern.search(text)


def test_normalisation_handles_fullwidth_and_nul():
    assert (
        diagnose("Ｒｅａｓｏｎ: ＯＯＭＫｉｌｌｅｄ\x00", category="kubernetes").cause
        == "oom_killed"
    )


@pytest.mark.parametrize(
    ("text", "category", "platform"),
    [
        ("pod shop/web in CrashLoopBackOff", "", "kubernetes"),
        ("vCenter alarm: VMware Tools not running", "", "vmware"),
        ("nova instance in ERROR state, flavor m1.large", "", "openstack"),
        ("err-disabled on Gi1/0/2 of the switch", "", "network"),
        ("something odd", "", None),
        ("something odd", "storage", "storage"),
    ],
)
def test_the_platform_comes_from_the_wording_and_the_category(text, category, platform):
    assert detect_platform(text, category) == platform
