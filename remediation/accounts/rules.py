"""What an OpenID provider's sign-in says about a person, read defensively (pure).

Who someone is comes from the ID token the provider signed: its issuer and subject, never
a claim a person can edit (e-mail, name and preferred username are shown, never matched
on). The groups claim (from userinfo, else the ID token) gives the groups this system
manages, through the deployment's map; a provider group the map does not name is ignored,
and so is anything in the claim that is not a short line of text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# OpenID Connect Core 1.0, 2: a subject is at most 255 ASCII characters.
MAX_SUBJECT = 255
MAX_GROUP_NAME = 256
# A groups claim longer than this is cut: only the first names are read.
MAX_GROUPS = 1000
MAX_EMAIL = 254
MAX_NAME = 150
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}")


class ClaimError(ValueError):
    """The sign-in is refused: the message names the claim."""


@dataclass(frozen=True)
class SignIn:
    issuer: str
    subject: str
    email: str  # display only
    name: str  # display only
    idp_groups: tuple[str, ...]  # the provider's, as read (bounded)
    groups: frozenset[str]  # this system's groups they give

    @property
    def identity(self) -> str:
        """How the audit trail names the person: ``oidc:<issuer>#<subject>``."""
        return identity_label(self.issuer, self.subject)


def identity_label(issuer: str, subject: str) -> str:
    return f"oidc:{issuer}#{subject}"


def _subject(value: Any, claim: str) -> str:
    if not isinstance(value, str) or not value:
        raise ClaimError(f"{claim}: missing")
    if len(value) > MAX_SUBJECT:
        raise ClaimError(f"{claim}: longer than {MAX_SUBJECT} characters")
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise ClaimError(f"{claim}: not printable ASCII (control characters, NUL or non-ASCII)")
    return value


def _display(value: Any, limit: int) -> str:
    """A claim shown to people: one line of text, cut to ``limit``; anything else is ''."""
    if not isinstance(value, str):
        return ""
    return _CONTROL.sub("", value).strip()[:limit]


def _email(value: Any) -> str:
    """An address as given, or '' (one with control characters is not cleaned into another)."""
    if not isinstance(value, str) or _CONTROL.search(value):
        return ""
    text = value.strip()
    return text if len(text) <= MAX_EMAIL and _EMAIL.fullmatch(text) else ""


def read_groups(value: Any) -> tuple[str, ...]:
    """The provider's group names in a groups claim: a list of strings (or one string).
    Entries that are not short single-line strings are skipped; at most ``MAX_GROUPS``."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return ()
    names: list[str] = []
    for item in value[:MAX_GROUPS]:
        if (
            isinstance(item, str)
            and item
            and len(item) <= MAX_GROUP_NAME
            and not _CONTROL.search(item)
            and item not in names
        ):
            names.append(item)
    return tuple(names)


def map_groups(
    idp_groups: tuple[str, ...], group_map: Mapping[str, tuple[str, ...]]
) -> frozenset[str]:
    """This system's groups that the provider's groups give (unknown ones give nothing)."""
    return frozenset(local for g in idp_groups for local in group_map.get(g, ()))


def read_sign_in(
    id_token: Mapping[str, Any],
    userinfo: Mapping[str, Any] | None,
    *,
    issuer: str,
    client_id: str,
    groups_claim: str,
    group_map: Mapping[str, tuple[str, ...]],
) -> SignIn:
    """Who signed in and which groups they hold here, from the verified ID token's claims
    and the userinfo answer. Raises ``ClaimError`` naming the claim when the sign-in must be
    refused."""
    if not isinstance(id_token, Mapping):
        raise ClaimError("id_token: not a JSON object")
    token_issuer = id_token.get("iss")
    if token_issuer != issuer:
        raise ClaimError("iss: not the configured issuer")
    audience = id_token.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise ClaimError("aud: this client is not among the token's audience")
    if len(audiences) > 1 and id_token.get("azp") != client_id:
        raise ClaimError("azp: the token was issued to another client")
    expiry = id_token.get("exp")
    if isinstance(expiry, bool) or not isinstance(expiry, int | float):
        raise ClaimError("exp: missing")  # the signature check has refused a past one
    subject = _subject(id_token.get("sub"), "sub")
    info: Mapping[str, Any] = userinfo if isinstance(userinfo, Mapping) else {}
    if info and info.get("sub") != subject:
        # OpenID Connect Core 1.0, 5.3.2: userinfo of another subject must not be used.
        raise ClaimError("sub: userinfo names another subject than the ID token")
    raw_groups = info[groups_claim] if groups_claim in info else id_token.get(groups_claim)
    idp_groups = read_groups(raw_groups)
    return SignIn(
        issuer=issuer,
        subject=subject,
        email=_email(info.get("email", id_token.get("email"))),
        name=_display(info.get("name", id_token.get("name")), MAX_NAME),
        idp_groups=idp_groups,
        groups=map_groups(idp_groups, group_map),
    )
