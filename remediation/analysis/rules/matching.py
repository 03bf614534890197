"""Pure text matching: runbooks against a ticket, and parameters out of its text.

No Django: plain dataclasses in, plain results out, so every edge case is tested fast.
Ticket text is untrusted: it is cut to ``MAX_TEXT_CHARS`` before anything looks at it, every
regex here is linear (no nested quantifiers), and nothing in it can name an operation that a
runbook did not already choose. Parameters found in it still have to pass the catalogue's
schema afterwards (targets are found by ``remediation.catalogue.rules.targets``; names such
as interfaces are read by ``remediation.catalogue.rules.names``, as everywhere else).

Scoring (documented because the confidence shown to approvers comes from it)
----------------------------------------------------------------------------
For each symptom line of a runbook (NFKC-normalised, case-folded, split into words):

* ``1.0`` when the whole phrase occurs in the ticket as consecutive words;
* otherwise ``PARTIAL_WEIGHT * f`` where ``f`` is the share of the phrase's non-stopwords
  found anywhere in the ticket, when the phrase has at least two of them and ``f ≥ 0.5``;
* otherwise ``0``.

``best`` is the highest symptom score and ``coverage`` the mean over the runbook's symptoms.
``score = best * (BEST_WEIGHT + COVERAGE_WEIGHT * coverage)``: one exact symptom among many
alternatives scores about 0.75; a learned runbook whose key terms mostly all appear scores
more. A runbook matches when ``score ≥ MIN_SCORE``.

Ranking adds ``LEARNED_PREFERENCE`` to runbooks learned from feedback whose coverage is at
least ``LEARNED_MIN_COVERAGE`` (the ticket really is similar to the one that taught it), and
``CATEGORY_PREFERENCE`` to runbooks written for the ticket's category, so that what actually
worked last time wins over a shipped runbook on a comparable match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from remediation.catalogue.rules import names
from remediation.catalogue.rules.operations import Operation

MAX_TEXT_CHARS = 20_000
MAX_SYMPTOMS = 50
MAX_SYMPTOM_CHARS = 200

PARTIAL_WEIGHT = 0.5
BEST_WEIGHT = 0.7
COVERAGE_WEIGHT = 0.3
MIN_SCORE = 0.35
LEARNED_PREFERENCE = 0.1
LEARNED_MIN_COVERAGE = 0.5
CATEGORY_PREFERENCE = 0.02

# fmt: off
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
    "it", "its", "of", "on", "or", "the", "to", "was", "were", "with", "this", "that", "than",
    "then", "there", "into", "after", "before", "since",
})
# fmt: on

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class RunbookEntry:
    name: str
    operation: str
    symptoms: tuple[str, ...]
    resolution: str
    category: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    learned: bool = False
    id: int | None = None
    # Cause keys (remediation.analysis.rules.vocabulary): what the action fixes / does not help.
    fixes: tuple[str, ...] = ()
    not_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    runbook: RunbookEntry
    score: float
    rank: float
    best: float
    coverage: float
    matched: tuple[str, ...]


def prepare(text: str) -> str:
    """Bounded, normalised, case-folded text: the only form the matcher reads."""
    return unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(prepare(text))


def _symptom_score(phrase: list[str], joined: str, vocabulary: set[str]) -> float:
    if not phrase:
        return 0.0
    if f" {' '.join(phrase)} " in joined:
        return 1.0
    content = [w for w in phrase if w not in STOPWORDS]
    if len(content) < 2:
        return 0.0
    found = sum(1 for w in content if w in vocabulary) / len(content)
    return PARTIAL_WEIGHT * found if found >= 0.5 else 0.0


def score_runbook(
    runbook: RunbookEntry, text_words: list[str]
) -> tuple[float, float, float, list[str]]:
    """(score, best, coverage, matched symptoms) of one runbook against the ticket's words."""
    joined = f" {' '.join(text_words)} "
    vocabulary = set(text_words)
    scores: list[float] = []
    exact: list[str] = []
    partial: list[str] = []
    for symptom in runbook.symptoms[:MAX_SYMPTOMS]:
        phrase = words(symptom[:MAX_SYMPTOM_CHARS])
        if not phrase:
            continue
        s = _symptom_score(phrase, joined, vocabulary)
        scores.append(s)
        if s == 1.0:
            exact.append(symptom.strip())
        elif s > 0:
            partial.append(symptom.strip())
    if not scores:
        return 0.0, 0.0, 0.0, []
    best = max(scores)
    coverage = sum(scores) / len(scores)
    # People are shown the exact matches; partial ones only when there is nothing better.
    return best * (BEST_WEIGHT + COVERAGE_WEIGHT * coverage), best, coverage, exact or partial


def match_runbooks(
    text: str, runbooks: Iterable[RunbookEntry], *, category: str = "", limit: int = 5
) -> list[Match]:
    """Runbooks that match ``text``, best first. Runbooks of another category never apply;
    those with a blank category apply to every ticket."""
    text_words = words(text)
    wanted = category.strip().casefold()
    found: list[Match] = []
    for runbook in runbooks:
        own = runbook.category.strip().casefold()
        if own and own != wanted:
            continue
        score, best, coverage, matched = score_runbook(runbook, text_words)
        if score < MIN_SCORE:
            continue
        rank = score
        if runbook.learned and coverage >= LEARNED_MIN_COVERAGE:
            rank += LEARNED_PREFERENCE
        if own:
            rank += CATEGORY_PREFERENCE
        found.append(Match(runbook, score, rank, best, coverage, tuple(matched)))
    # Ties: learned first, then the newer runbook (higher id) — later knowledge wins.
    found.sort(key=lambda m: (m.rank, m.runbook.learned, m.runbook.id or 0), reverse=True)
    return found[: max(limit, 0)]


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the content words of two texts (0..1)."""
    sa = {w for w in words(a) if w not in STOPWORDS and len(w) > 1}
    sb = {w for w in words(b) if w not in STOPWORDS and len(w) > 1}
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


# --- Parameters ----------------------------------------------------------------------------


def find_interface(text: str) -> str | None:
    """The first interface the text names (``names.interfaces``), or None."""
    found = names.interface_names(text[:MAX_TEXT_CHARS])
    return found[0] if found else None


def _number(pattern: str, text: str) -> int | None:
    match = re.search(pattern, text)
    if not match:
        return None
    digits = match.group(1)
    return int(digits) if len(digits) <= 7 else None


def _size_gb(pattern: str, text: str) -> int | None:
    match = re.search(pattern, text)
    if not match or len(match.group(1)) > 7:
        return None
    value = int(match.group(1))
    return value * 1024 if match.group(2).startswith("t") else value


def find_params(text: str, operation: Operation) -> dict[str, Any]:
    """Parameters the ticket states explicitly ("scale to 5 replicas", "to 32 GB").

    Only parameters of ``operation`` are looked for; the catalogue checks their ranges.
    """
    t = prepare(text)
    found: dict[str, Any] = {}
    names = {p.name for p in operation.params}
    if "memory_gb" in names:
        found["memory_gb"] = _size_gb(r"\bto\s+(\d+)\s*(gb|gib|g|tb|tib)\b", t)
    if "cpus" in names:
        found["cpus"] = _number(r"\bto\s+(\d+)\s*(?:v?cpus?|vcores?|cores?)\b", t)
    if "replicas" in names:
        found["replicas"] = _number(r"\bto\s+(\d+)\s*(?:replicas?|pods?|instances?)\b", t)
        if found["replicas"] is None:
            found["replicas"] = _number(r"\breplicas?\s*(?:to|=|:)\s*(\d+)\b", t)
    if "revision" in names:
        found["revision"] = _number(r"\brevision\s*(?:#|no\.?|number)?\s*(\d+)\b", t)
    if "size_gb" in names:
        found["size_gb"] = _size_gb(r"\bto\s+(\d+)\s*(gb|gib|g|tb|tib)\b", t)
    if "older_than_days" in names:
        found["older_than_days"] = _number(r"\bolder\s+than\s+(\d+)\s*days?\b", t)
    if "keep_last" in names:
        found["keep_last"] = _number(
            r"\bkeep(?:ing)?\s+(?:the\s+)?(?:last\s+|newest\s+)?(\d+)\b", t
        )
    if "flavor" in names:
        match = re.search(r"\bflavou?r\s+(?:to\s+)?([a-z][a-z0-9_-]*\.[a-z0-9_.-]*[a-z0-9])", t)
        match = match or re.search(r"\bto\s+([a-z][a-z0-9]{0,3}\.[a-z0-9]+)\b", t)
        found["flavor"] = match.group(1) if match else None
    if "interface" in names:
        found["interface"] = find_interface(text)
    return {k: v for k, v in found.items() if v is not None}


def find_current(text: str) -> dict[str, int]:
    """Current values the ticket states next to a change ("to 1 replica from 10", "from 8 to
    2 pods"), so the catalogue's destructive-parameter rule can compare old and new."""
    t = prepare(text)
    found: dict[str, int] = {}
    replicas = _number(r"\bto\s+\d+\s*(?:replicas?|pods?)?\s+from\s+(\d+)\b", t) or _number(
        r"\bfrom\s+(\d+)\s*(?:replicas?|pods?)?\s+to\s+\d+\s*(?:replicas?|pods?)\b", t
    )
    if replicas is not None:
        found["replicas"] = replicas
    return found
