"""Diagnosis: what the ticket's own words establish about the cause. Pure, no Django.

``diagnose`` reads the ticket against ``vocabulary``: symptoms observed, causes with their
evidence (quoted from the ticket), causes ruled out (negated, or excluded by what the text
says), and the platform. A cause is *established* when it has decisive evidence (a reason
field such as OOMKilled, an exit code, a named root cause) or two supporting pieces, its
required symptom is present, and no other established cause competes with it. Anything less
is "unknown" or "suspected", and then no action is proposed: a person is needed.

Confidence here is how well the cause is established (see ``CONFIDENCE_*``), never how many
symptom words matched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from remediation.analysis.rules.vocabulary import (
    CATEGORY_PLATFORM,
    CAUSE_BY_KEY,
    CAUSES,
    COMPILED,
    NEGATION,
    SYMPTOMS,
    Cause,
)
from remediation.catalogue.rules import names

MAX_TEXT_CHARS = 20_000
MAX_EVIDENCE = 8
QUOTE_CHARS = 160

DECISIVE_WEIGHT = 1.0
SUPPORTING_WEIGHT = 0.5
ESTABLISHED = 1.0
# One decisive piece of evidence; two or more; minus this when a weaker cause also fits.
CONFIDENCE_ONE = 0.85
CONFIDENCE_MORE = 0.92
COMPETITOR_PENALTY = 0.1
SUSPECTED_CONFIDENCE = 0.4

UNKNOWN = "unknown"
# A named object of a platform (a namespace/name, a volume) weighs more than a word.
OBJECT_WEIGHT = 2.5
CATEGORY_WEIGHT = 2.0
# A network device's port named in the text (``names.interfaces``: Gi0/1, xe-0/0/1,
# Port-channel1; not a host's eth0) counts as one network signal word.
SWITCH_INTERFACE_PLATFORM = "network"
SWITCH_INTERFACE_WEIGHT = 1.0


@dataclass(frozen=True)
class Diagnosis:
    cause: str
    cause_label: str
    established: bool
    confidence: float
    platform: str | None
    symptoms: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    ruled_out: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()
    needs_human: bool = True
    needs_human_reason: str = ""
    advice: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON stored in ``Ticket.diagnosis`` and the audit log."""
        return {
            "cause": self.cause,
            "cause_label": self.cause_label,
            "established": self.established,
            "confidence": self.confidence,
            "platform": self.platform,
            "symptoms": list(self.symptoms),
            "evidence": list(self.evidence),
            "ruled_out": list(self.ruled_out),
            "alternatives": list(self.alternatives),
            "needs_human": self.needs_human,
            "needs_human_reason": self.needs_human_reason,
            **self.extra,
        }

    def with_human(self, reason: str) -> Diagnosis:
        """The same diagnosis, now saying a person is needed and why."""
        return replace(self, needs_human=True, needs_human_reason=reason)


def normalise(text: str) -> str:
    """Bounded NFKC text; patterns match case-insensitively and quotes come from it."""
    return unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).replace("\x00", " ")


def _quote(text: str, match: re.Match[str]) -> str:
    """The words around ``match`` on its line: about 60 characters before, 80 after, cut
    at word boundaries (never mid-word), with "…" where the line goes on."""
    line_start = text.rfind("\n", 0, match.start()) + 1
    line_end = text.find("\n", match.end())
    line_end = len(text) if line_end == -1 else line_end
    start = max(line_start, match.start() - 60)
    if start > line_start and not text[start - 1].isspace():
        # Cut mid-word: begin at the next word (never after the match itself).
        gap = re.search(r"\s", text[start : match.start()])
        start = start + gap.end() if gap else match.start()
    end = min(line_end, match.end() + 80)
    if end < line_end and not text[end].isspace():
        gaps = list(re.finditer(r"\s", text[match.end() : end]))
        end = match.end() + gaps[-1].start() if gaps else match.end()
    quote = " ".join(text[start:end].split())
    cut_short = end < line_end
    if len(quote) > QUOTE_CHARS - 2:
        cut = quote.rfind(" ", 0, QUOTE_CHARS - 2)
        quote = quote[: cut if cut > 0 else QUOTE_CHARS - 2].rstrip()
        cut_short = True
    before = "…" if start > line_start else ""
    after = "…" if cut_short else ""
    return f"{before}{quote}{after}"


def _negated(text: str, match: re.Match[str]) -> bool:
    return bool(NEGATION.search(text[max(0, match.start() - 30) : match.start()]))


def _hits(text: str, patterns: tuple[re.Pattern[str], ...]) -> list[re.Match[str]]:
    found = []
    for pattern in patterns:
        match = pattern.search(text)
        if match is not None:
            found.append(match)
    return found


def detect_platform(
    text: str,
    category: str = "",
    affected_platform: str | None = None,
    object_platforms: Sequence[str] = (),
) -> str | None:
    """The platform the ticket is about: the affected object's, else the strongest signal
    (words, the category, and the platforms of objects the ticket names)."""
    if affected_platform:
        return affected_platform
    scores: dict[str, float] = {}
    for platform, patterns in COMPILED.platforms.items():
        scores[platform] = float(len(_hits(text, patterns)))
    if any(found.switch for found in names.interfaces(text)):
        scores[SWITCH_INTERFACE_PLATFORM] = (
            scores.get(SWITCH_INTERFACE_PLATFORM, 0.0) + SWITCH_INTERFACE_WEIGHT
        )
    for platform in set(object_platforms):
        scores[platform] = scores.get(platform, 0.0) + OBJECT_WEIGHT
    by_category = CATEGORY_PLATFORM.get(category.strip().casefold())
    if by_category:
        scores[by_category] = scores.get(by_category, 0.0) + CATEGORY_WEIGHT
    best = max(scores.values(), default=0.0)
    if best <= 0:
        return None
    top = [p for p, s in scores.items() if s == best]
    return top[0] if len(top) == 1 else None


def _symptoms_in(text: str) -> dict[str, re.Match[str]]:
    """Each symptom the text states (not negated), with its first mention."""
    symptoms: dict[str, re.Match[str]] = {}
    for symptom in SYMPTOMS:
        for match in _hits(text, COMPILED.symptoms[symptom.key]):
            if not _negated(text, match):
                symptoms.setdefault(symptom.key, match)
                break
    return symptoms


def _weigh(text: str, cause: Cause) -> tuple[float, list[str], str | None]:
    """(score, quoted evidence, the quote that rules the cause out or None) for one cause.

    A cause is ruled out when the text says what excludes it while pointing at it, or when
    every mention of its evidence is negated ("not out of memory")."""
    excluded = [m for m in _hits(text, COMPILED.ruled_out_by[cause.key]) if not _negated(text, m)]
    score = 0.0
    cited: list[str] = []
    negated: list[str] = []
    for weight, patterns in (
        (DECISIVE_WEIGHT, COMPILED.decisive[cause.key]),
        (SUPPORTING_WEIGHT, COMPILED.supporting[cause.key]),
    ):
        for match in _hits(text, patterns):
            if _negated(text, match):
                negated.append(_quote(text, match))
                continue
            score += weight
            cited.append(_quote(text, match))
    if excluded and score > 0:
        return score, cited, _quote(text, excluded[0])
    if negated and score == 0:
        return score, cited, negated[0]
    return score, cited, None


def diagnose(
    text: str,
    *,
    category: str = "",
    affected_platform: str | None = None,
    object_platforms: Sequence[str] = (),
) -> Diagnosis:
    """What the ticket establishes about its cause. Never raises for any text."""
    text = normalise(text)
    platform = detect_platform(text, category, affected_platform, object_platforms)

    symptoms = _symptoms_in(text)
    scores: dict[str, float] = {}
    quotes: dict[str, list[str]] = {}
    ruled_out: list[str] = []
    for cause in CAUSES:
        if cause.platforms and platform is not None and platform not in cause.platforms:
            continue
        score, cited, ruling_out = _weigh(text, cause)
        if ruling_out is not None:
            ruled_out.append(f"{cause.label}: {ruling_out!r}")
            continue
        if cause.requires and not any(s in symptoms for s in cause.requires):
            continue
        if score > 0:
            scores[cause.key] = score
            quotes[cause.key] = cited

    symptom_labels = tuple(s.label for s in SYMPTOMS if s.key in symptoms)
    symptom_quotes = [_quote(text, symptoms[s.key]) for s in SYMPTOMS if s.key in symptoms]
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    established = [k for k, s in ranked if s >= ESTABLISHED]

    def evidence_for(keys: list[str]) -> tuple[str, ...]:
        seen: list[str] = []
        for quote in [q for k in keys for q in quotes[k]] + symptom_quotes:
            if any(quote in other for other in seen):
                continue
            seen = [other for other in seen if other not in quote] + [quote]
        return tuple(seen[:MAX_EVIDENCE])

    base = Diagnosis(
        cause=UNKNOWN,
        cause_label="not established",
        established=False,
        confidence=0.0,
        platform=platform,
        symptoms=symptom_labels,
        ruled_out=tuple(ruled_out),
    )
    if not ranked:
        return replace(
            base,
            evidence=evidence_for([]),
            needs_human_reason="the ticket does not establish a cause"
            + (f" (symptoms: {', '.join(symptom_labels)})" if symptom_labels else ""),
        )
    top_key, top_score = ranked[0]
    top = CAUSE_BY_KEY[top_key]
    if len(established) > 1:
        labels = [CAUSE_BY_KEY[k].label for k in established]
        return replace(
            base,
            cause=top_key,
            cause_label=top.label,
            established=False,
            confidence=SUSPECTED_CONFIDENCE,
            evidence=evidence_for(established),
            alternatives=tuple(labels[1:]),
            needs_human_reason="several causes fit the evidence: " + "; ".join(labels),
            advice=top.advice,
        )
    if top_score < ESTABLISHED:
        return replace(
            base,
            cause=top_key,
            cause_label=top.label,
            established=False,
            confidence=SUSPECTED_CONFIDENCE * top_score,
            evidence=evidence_for([top_key]),
            alternatives=tuple(CAUSE_BY_KEY[k].label for k, _ in ranked[1:]),
            needs_human_reason=f"suspected, not established: {top.label}",
            advice=top.advice,
        )
    confidence = CONFIDENCE_MORE if top_score > ESTABLISHED else CONFIDENCE_ONE
    if len(ranked) > 1:
        confidence -= COMPETITOR_PENALTY
    return replace(
        base,
        cause=top_key,
        cause_label=top.label,
        established=True,
        confidence=round(confidence, 3),
        evidence=evidence_for([top_key]),
        alternatives=tuple(CAUSE_BY_KEY[k].label for k, _ in ranked[1:]),
        needs_human=False,
        advice=top.advice,
    )
