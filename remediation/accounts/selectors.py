"""Finding the token a key belongs to."""

from __future__ import annotations

import re
from hmac import compare_digest

from knox.crypto import hash_token
from knox.settings import CONSTANTS

from remediation.accounts.models import ApiToken

# What a key can look like: visible ASCII, no spaces, bounded. Keys made here are 64 hex
# characters, converted ones 40; anything else (NUL bytes, non-ASCII, a megabyte) is no
# key and is refused before any hashing or query.
KEY_PATTERN = re.compile(r"[!-~]{1,128}")


def api_token_for_key(key: str) -> ApiToken | None:
    """The token whose key ``key`` is, expired or not, with its user; None if none is.

    Rows are found by the key's first characters and the digest compared in constant time,
    so neither the prefix nor the stored digest works as a key.
    """
    if not KEY_PATTERN.fullmatch(key):
        return None
    digest = hash_token(key)
    candidates = ApiToken.objects.filter(
        token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]
    ).select_related("user")
    for token in candidates:
        if compare_digest(digest, token.digest):
            return token
    return None
