"""What a provider's sign-in says, read defensively (remediation.accounts.rules, pure)."""

from __future__ import annotations

from typing import Any

import pytest

from remediation.accounts.rules import (
    MAX_GROUPS,
    MAX_NAME,
    ClaimError,
    map_groups,
    read_groups,
    read_sign_in,
)

ISSUER = "https://idp.example"
CLIENT = "auto-remediation"
GROUP_MAP = {"sre-approvers": ("Approvers",), "sre-oncall": ("Operators",)}


def token(**claims: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": ISSUER, "aud": CLIENT, "sub": "00u1abc", "exp": 2_000_000_000}
    base.update(claims)
    return {k: v for k, v in base.items() if v is not None}


def read(id_token: dict[str, Any], userinfo: dict[str, Any] | None = None):
    return read_sign_in(
        id_token,
        userinfo,
        issuer=ISSUER,
        client_id=CLIENT,
        groups_claim="groups",
        group_map=GROUP_MAP,
    )


def test_the_subject_and_issuer_name_the_person_and_the_map_gives_the_groups():
    got = read(
        token(),
        {"sub": "00u1abc", "email": "a@example.test", "groups": ["sre-approvers", "finance"]},
    )
    assert got.identity == "oidc:https://idp.example#00u1abc"
    assert got.groups == frozenset({"Approvers"})
    assert got.idp_groups == ("sre-approvers", "finance")
    assert got.email == "a@example.test"


def test_groups_come_from_userinfo_else_from_the_id_token():
    assert read(token(groups=["sre-oncall"]), {"sub": "00u1abc"}).groups == {"Operators"}
    assert (
        read(token(groups=["sre-oncall"]), {"sub": "00u1abc", "groups": []}).groups == frozenset()
    )


@pytest.mark.parametrize(
    ("claims", "named"),
    [
        ({"sub": None}, "sub"),
        ({"sub": ""}, "sub"),
        ({"sub": 12345}, "sub"),
        ({"sub": "x" * 256}, "sub"),
        ({"sub": "abc\x00def"}, "sub"),
        ({"sub": "abc\ndef"}, "sub"),
        ({"sub": "ünïcode"}, "sub"),
        ({"sub": " padded "}, "sub"),
        ({"iss": "https://evil.example"}, "iss"),
        ({"iss": None}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"aud": None}, "aud"),
        ({"aud": [CLIENT, "another-client"]}, "azp"),
        ({"exp": None}, "exp"),
        ({"exp": True}, "exp"),
    ],
)
def test_a_bad_id_token_is_refused_naming_the_claim(claims, named):
    with pytest.raises(ClaimError) as refused:
        read(token(**claims))
    assert str(refused.value).startswith(f"{named}:")


def test_several_audiences_are_accepted_when_the_token_was_issued_to_this_client():
    assert read(token(aud=[CLIENT, "other"], azp=CLIENT)).subject == "00u1abc"


def test_userinfo_of_another_subject_is_refused():
    with pytest.raises(ClaimError, match=r"^sub: userinfo"):
        read(token(), {"sub": "someone-else", "groups": ["sre-approvers"]})


def test_a_subject_of_255_printable_characters_is_accepted():
    sub = "a" * 254 + "~"
    assert read(token(sub=sub), {"sub": sub}).subject == sub


def test_unknown_groups_give_nothing_and_odd_entries_are_skipped():
    odd = ["sre-approvers\x00", "", 7, None, {"name": "sre-approvers"}, "x" * 300, "sre-oncall"]
    assert read_groups(odd) == ("sre-oncall",)
    assert map_groups(("finance", "SRE-APPROVERS", "sre-approvers "), GROUP_MAP) == frozenset()
    assert read_groups("sre-oncall") == ("sre-oncall",)
    assert read_groups({"sre-oncall": True}) == ()
    assert read_groups(None) == ()


def test_a_huge_groups_claim_is_read_only_so_far():
    huge = [f"g{i}" for i in range(MAX_GROUPS * 50)] + ["sre-approvers"]
    got = read(token(), {"sub": "00u1abc", "groups": huge})
    assert len(got.idp_groups) == MAX_GROUPS
    assert got.groups == frozenset()  # past the bound, not read


def test_display_claims_are_cleaned_never_refusing_the_sign_in():
    got = read(
        token(),
        {
            "sub": "00u1abc",
            "email": "a\x00@example.test",
            "name": "Al\x00ice\u2028" + "x" * 1000,
        },
    )
    assert got.email == ""  # dropped, not cleaned into another address
    assert got.name.startswith("Alice") and len(got.name) == MAX_NAME
    assert read(token(), {"sub": "00u1abc", "email": "x" * 300 + "@e.test"}).email == ""
    assert read(token(), {"sub": "00u1abc", "email": ["a@e.test"]}).email == ""
