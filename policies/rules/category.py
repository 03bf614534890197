"""What a category is: one normalized value everywhere. Pure: no Django.

A ticket, a policy, a pause of the kill switch, an alert mapping, a runbook and the daily
counters all name a category, and they are compared exactly (a database lookup). A pause
typed ``CACHE`` once stopped nothing, because tickets store ``cache``. So every category is
normalized where it enters (``normalize_category``: surrounding blanks dropped, lowercase),
and the model field that stores one (``policies.categories.CategoryField``) normalizes what
it saves and what it is compared with, whoever wrote the value.
"""

from __future__ import annotations

import re

# A stored category: lowercase letters, digits, '_' and '-', 1 to 50 characters.
CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,49}$"
_CATEGORY = re.compile(CATEGORY_PATTERN)


def normalize_category(value: str) -> str:
    """The category as stored and compared: no surrounding blanks, lowercase. ASCII only is
    accepted downstream (``is_category``), so ``lower`` cannot fold two spellings that a
    person would read as different into one."""
    return value.strip().lower()


def is_category(value: str) -> bool:
    """Whether ``value`` is a normalized category (what ``normalize_category`` returns for
    an acceptable input)."""
    return bool(_CATEGORY.fullmatch(value))
