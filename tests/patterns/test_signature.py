"""The pattern signature: instance names never split a problem into two patterns."""

from __future__ import annotations

import hashlib

import pytest

from patterns.rules.signature import (
    MAX_KEY_TERMS,
    is_instance_specific,
    key_terms,
    signature_for,
    similarity,
)


def test_the_same_problem_on_two_hosts_shares_a_pattern():
    a = signature_for(
        "server",
        "Service down on prod-web-01",
        "Web service not responding on port 8080 at 10.0.0.12",
    )
    b = signature_for(
        "server",
        "Service down on prod-web-02",
        "Web service not responding on port 8443 at 10.0.0.13",
    )
    assert a.hash == b.hash
    assert a.key_terms == b.key_terms
    assert "prod" not in a.key_terms and "01" not in a.text


def test_the_hash_is_sha256_of_category_and_terms():
    sig = signature_for("Network", "VLAN connectivity timeout", "connectivity lost on vlan")
    assert sig.category == "network"
    assert sig.text == f"network|{','.join(sig.key_terms)}"
    assert sig.hash == hashlib.sha256(sig.text.encode()).hexdigest()


def test_terms_are_in_a_stable_alphabetical_order_whatever_the_word_order():
    a = key_terms("timeout connectivity vlan", "")
    b = key_terms("vlan timeout connectivity", "")
    assert a == b == ("connectivity", "timeout", "vlan")


def test_it_keeps_at_most_the_named_number_of_terms_preferring_the_title():
    terms = key_terms(
        "Disk latency",
        "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima",
    )
    assert len(terms) == MAX_KEY_TERMS
    assert {"disk", "latency"} <= set(terms)


def test_a_different_category_is_a_different_pattern():
    assert (
        signature_for("network", "Packet loss", "").hash
        != signature_for("storage", "Packet loss", "").hash
    )


@pytest.mark.parametrize(
    "token",
    [
        "prod-web-01",
        "web-7d9f8c-x2k4p",
        "10.0.0.12",
        "10.0.0.0/24",
        "fe80::1ff:fe23:4567:890a",
        "8080",
        "123e4567-e89b-12d3-a456-426614174000",
        "deadbeefcafe",
        "0x7ffd1234",
        "/var/log/nginx/error.log",
        "ops@example.com",
        "https://status.example.com/x",
        "db01:5432",
        "00:1a:2b:3c:4d:5e",
        "node3",
    ],
)
def test_it_recognizes_instance_specific_tokens(token):
    assert is_instance_specific(token)


@pytest.mark.parametrize("token", ["timeout", "k8s", "ipv6", "crashloopbackoff", "5xx"])
def test_it_keeps_vocabulary(token):
    assert not is_instance_specific(token)


def test_it_drops_instance_names_and_stop_words_from_the_terms():
    terms = key_terms(
        "Pod web-7d9f8c-x2k4p CrashLoopBackOff please help",
        "see /var/log/app.log, mail ops@example.com, id 123e4567-e89b-12d3-a456-426614174000",
    )
    assert "crashloopbackoff" in terms
    assert not {"please", "help", "see", "web", "var", "log", "ops"} & set(terms)


def test_it_normalizes_unicode_and_case():
    # NFKC folds the full-width letters into ASCII.
    assert key_terms("ＴＩＭＥＯＵＴ Timeout", "") == ("timeout",)


def test_text_with_no_terms_has_an_empty_signature_of_its_category():
    sig = signature_for("server", "prod-web-01 10.0.0.1", "8080")
    assert sig.key_terms == ()
    assert sig.text == "server|"


def test_similarity_is_the_jaccard_index():
    assert similarity(["a", "b", "c"], ["b", "c", "d"]) == 0.5
    assert similarity(["a"], ["a"]) == 1.0
    assert similarity(["a"], ["b"]) == 0.0
    assert similarity([], []) == 0.0
