"""When a pattern is trusted enough for auto-remediation (design: Pattern Eligibility).

Pure: no Django. A pattern is eligible when it is enabled and every one of the design's four
thresholds holds:

- occurrence_count >= min_occurrences (PATTERN_MIN_OCCURRENCES, 5)
- positive_outcome_rate >= min_positive_rate (PATTERN_MIN_POSITIVE_RATE, 0.85): of the
  pattern's concluded tickets, the share that succeeded, where a ticket's outcome is the
  measured one when something ran and a trusted person's verdict otherwise (measured
  outcomes outweigh ratings; a rating that disagrees with a measurement flags the pattern
  for an admin instead, and a flagged pattern is not eligible)
- avg_reliability_score >= min_reliability (PATTERN_MIN_RELIABILITY, 85.0), the average over
  the pattern's latest PATTERN_RELIABILITY_WINDOW (10) concluded tickets
  (``patterns.services._refresh_derived``)
- auto_remediation_success_rate >= min_success_rate (PATTERN_MIN_SUCCESS_RATE, 0.85)

A rate with nothing behind it (no feedback, no remediation attempt, no scored ticket) is
0.0 and so fails its threshold: a pattern earns eligibility with evidence, never by default.

Optionally, shadow agreement (how often the pattern's proposal matched what people did with
tickets they handled): when ``min_shadow_decisions`` (PATTERN_MIN_SHADOW_DECISIONS) is above
0, the pattern also needs at least that many such verdicts, agreeing at a rate of at least
``min_shadow_agreement`` (PATTERN_MIN_SHADOW_AGREEMENT, 0.9). At 0 (the default) the check
is off and says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from remediation.rules import ratio

# Rates are ratios of small integers (17/20); compare with a tolerance so that a rate equal
# to its threshold in decimal is not refused for a rounding error in binary.
EPSILON = 1e-9


@dataclass(frozen=True)
class Thresholds:
    min_occurrences: int
    min_positive_rate: float
    min_reliability: float
    min_success_rate: float
    min_shadow_agreement: float = 0.9
    min_shadow_decisions: int = 0  # 0: the shadow agreement check is off


@dataclass(frozen=True)
class PatternStats:
    occurrence_count: int
    positive_outcome_rate: float
    avg_reliability_score: float
    auto_remediation_success_rate: float
    enabled: bool = True
    needs_review: bool = False
    shadow_agreement_count: int = 0
    shadow_disagreement_count: int = 0


def is_eligible(stats: PatternStats, thresholds: Thresholds) -> tuple[bool, list[str]]:
    """Return (eligible, reasons).

    When not eligible, ``reasons`` names every unmet condition; when eligible, it states
    each condition that was met, so an audit line explains the verdict either way.
    """
    unmet: list[str] = []
    met: list[str] = []

    def check(ok: bool, good: str, bad: str) -> None:
        (met if ok else unmet).append(good if ok else bad)

    if not stats.enabled:
        unmet.append("Pattern is disabled by an administrator.")
    if stats.needs_review:
        unmet.append(
            "Flagged for review: trusted feedback disagreed with a measured outcome; an "
            "admin clears the flag."
        )
    check(
        stats.occurrence_count >= thresholds.min_occurrences,
        f"Seen {stats.occurrence_count} times (>= {thresholds.min_occurrences}).",
        f"Seen {stats.occurrence_count} times, needs {thresholds.min_occurrences}.",
    )
    check(
        stats.positive_outcome_rate + EPSILON >= thresholds.min_positive_rate,
        f"Positive outcomes {stats.positive_outcome_rate:.0%} of concluded tickets "
        f"(>= {thresholds.min_positive_rate:.0%}).",
        f"Positive outcomes {stats.positive_outcome_rate:.0%} of concluded tickets, "
        f"needs {thresholds.min_positive_rate:.0%}.",
    )
    check(
        stats.avg_reliability_score + EPSILON >= thresholds.min_reliability,
        f"Average reliability {stats.avg_reliability_score:.1f} "
        f"(>= {thresholds.min_reliability:.1f}).",
        f"Average reliability {stats.avg_reliability_score:.1f}, "
        f"needs {thresholds.min_reliability:.1f}.",
    )
    check(
        stats.auto_remediation_success_rate + EPSILON >= thresholds.min_success_rate,
        f"Remediation success rate {stats.auto_remediation_success_rate:.0%} "
        f"(>= {thresholds.min_success_rate:.0%}).",
        f"Remediation success rate {stats.auto_remediation_success_rate:.0%}, "
        f"needs {thresholds.min_success_rate:.0%}.",
    )
    if thresholds.min_shadow_decisions > 0:
        agreed = stats.shadow_agreement_count
        decisions = agreed + stats.shadow_disagreement_count
        rate = ratio(agreed, decisions, None) or 0.0  # none: fails, as the count does
        ok = (
            decisions >= thresholds.min_shadow_decisions
            and rate + EPSILON >= thresholds.min_shadow_agreement
        )
        check(
            ok,
            f"People agreed with its proposals {rate:.0%} of {decisions} times "
            f"(>= {thresholds.min_shadow_agreement:.0%} of at least "
            f"{thresholds.min_shadow_decisions}).",
            f"People agreed with its proposals {rate:.0%} of {decisions} times, needs "
            f"{thresholds.min_shadow_agreement:.0%} of at least "
            f"{thresholds.min_shadow_decisions}.",
        )
    if unmet:
        return False, unmet
    return True, met
