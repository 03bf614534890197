"""Which pattern a ticket belongs to, from its diagnosis. Pure: no Django.

A pattern is what autonomy is earned on, so it must name the *problem*, not the wording:
the same cause said three ways is one pattern, two causes said in the same words are two.
When the diagnosis established a cause, the pattern's key is

* the **cause** (``hung``, ``memory_undersized``…),
* the **object kind** it was seen on (the observed object's kind; else the kind the fixing
  operation acts on),
* the **operation** that fixes that cause on the diagnosed platform (``none`` when no
  catalogue operation does: a person's pattern),

all three derived from the diagnosis, never from which runbook happened to be proposed, so
a proposal withheld (an amount not observed yet) does not split the pattern. Without an
established cause there is nothing to key on but the words (``None`` here: the caller falls
back to the word signature).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from remediation.analysis.rules.vocabulary import FIXES
from remediation.catalogue.rules.operations import CATALOGUE


@dataclass(frozen=True)
class PatternKey:
    cause: str
    kind: str
    operation: str


def fixing_operation(cause: str, platform: str | None) -> str:
    """The catalogue operation that fixes ``cause`` on ``platform`` ("" when none, or when
    several platforms' operations would and the platform is not known)."""
    fixing = sorted(op for op, causes in FIXES.items() if cause in causes and op in CATALOGUE)
    if platform:
        fixing = [op for op in fixing if CATALOGUE[op].platform.value == platform]
    elif len({CATALOGUE[op].platform for op in fixing}) > 1:
        return ""
    return fixing[0] if fixing else ""


def pattern_key(diagnosis: Mapping[str, Any] | None) -> PatternKey | None:
    """The key of the pattern a ticket with this stored diagnosis belongs to, or None when
    the diagnosis established no cause."""
    if not isinstance(diagnosis, Mapping) or diagnosis.get("established") is not True:
        return None
    cause = str(diagnosis.get("cause") or "")
    if not cause or cause == "unknown":
        return None
    platform = diagnosis.get("platform")
    operation = fixing_operation(cause, str(platform) if platform else None)
    observed = diagnosis.get("observed_target")
    kind = ""
    if isinstance(observed, Mapping) and observed.get("kind"):
        kind = str(observed["kind"])
    elif operation:
        spec = CATALOGUE[operation].param(CATALOGUE[operation].target_param)
        kind = spec.kind.value if spec is not None and spec.kind is not None else ""
    return PatternKey(cause=cause, kind=kind[:30], operation=operation or "none")
