"""The digest an approval is bound to: the exact actions, targets and parameters shown.

Pure (no Django). An approval counts only for the digest it was given on; when the actions
change (another analysis, an edit), the digest changes and earlier approvals stop counting.
Order matters: the actions run in order, so the same actions in another order are another
plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

# Every key a person reads on the approval page, and every key execution acts on.
DIGEST_KEYS = ("action", "system", "operation", "platform", "params", "action_type", "rollback")
DIGEST_LENGTH = 64
DIGEST_REGEX = r"^[0-9a-f]{64}$"


def canonical_actions(actions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Only the digest's keys of each action, so unrelated bookkeeping does not change it."""
    return [{key: action.get(key) for key in DIGEST_KEYS} for action in actions]


def actions_digest(actions: Iterable[Mapping[str, Any]] | None) -> str:
    """sha256 of the canonical JSON of ``actions`` (sorted keys, no whitespace, ASCII)."""
    canonical = canonical_actions(actions or [])
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
