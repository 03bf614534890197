"""The reliability score: four components, weighted, 0-100 (design: Reliability Scoring System).

Pure: no Django, plain dataclasses in and out. ``remediation.scoring`` gathers the facts from
the database, calls ``compute_reliability`` and stores what it returns.

    overall = 0.25 * AI + 0.30 * feedback + 0.25 * success history + 0.20 * pattern match

Each component is 0-100. A component without data scores 0 and says so (``has_data`` is
false and ``note`` gives the reason): with little history the score is low on purpose
(design: Troubleshooting, "Insufficient historical data").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import pairwise

from remediation.rules import CALIBRATION_BINS as CALIBRATION_BINS
from remediation.rules import bin_bounds as bin_bounds
from remediation.rules import bin_edges as bin_edges
from remediation.rules import bin_index as bin_index
from remediation.rules import ratio

# --- Weights (design: Multi-Factor Calculation) --------------------------------------------
WEIGHT_AI_CONFIDENCE = 0.25
WEIGHT_HUMAN_FEEDBACK = 0.30
WEIGHT_SUCCESS_HISTORY = 0.25
WEIGHT_PATTERN_MATCH = 0.20

# --- Scale -------------------------------------------------------------------------------
MIN_SCORE = 0.0
MAX_SCORE = 100.0
PERCENT = 100.0
MAX_RATING = 5
SCORE_DECIMALS = 1

# --- Human feedback: recency weighting ---------------------------------------------------
# A feedback's weight halves every 30 days: weight = 0.5 ** (age_days / 30).
FEEDBACK_HALF_LIFE_DAYS = 30.0
# Beyond this age a feedback weighs 0.5 ** 12 < 0.03 % of a fresh one; reading older days
# would change no score but would make the read grow with history.
FEEDBACK_HORIZON_DAYS = 365

# --- Success history (the category's tickets of the last 180 days) --------------
SUCCESS_HISTORY_WINDOW_DAYS = 180

# --- A category's short record -------------------------------------------------------------
# A category's human validation and success history lean on the prior until the category has
# this many concluded tickets (recency-weighted feedback for the first): with fewer, the
# component is the Beta posterior mean of its own record under the prior (PRIOR_STRENGTH
# pseudo-outcomes), so one unlucky first ticket does not read as "this never works".
CATEGORY_MIN_RECORD = 10

# --- Pattern match ------------------------------------------------------------------------
# The design: "Requires >= 3 similar tickets for pattern"; similar *concluded* tickets, since
# a ticket with an unknown outcome says nothing about whether the fix works.
PATTERN_MIN_CONCLUDED_TICKETS = 3
# "Boosts score if pattern has positive feedback": the pattern's feedback is positive when
# more than half of it is; the match score is then multiplied by the boost, capped at 100.
PATTERN_POSITIVE_FEEDBACK_MIN_RATE = 0.5
PATTERN_POSITIVE_FEEDBACK_BOOST = 1.10

# --- Confidence levels (docs/reliability.md) ----------------------------------------------
VERY_HIGH_MIN_SCORE = 90.0
HIGH_MIN_SCORE = 75.0
MEDIUM_MIN_SCORE = 60.0

# --- Calibration (docs/reliability.md, "Calibration") ---------------------------------------
# Predictions (the reliability score / 100, the analyzer's confidence) against outcomes, in
# equal-width bins over [0, 1]: bin k holds k/10 <= p < (k+1)/10, the last one takes 1.0 too
# (CALIBRATION_BINS and the bins themselves are remediation.rules').
CALIBRATION_DECIMALS = 4
# The reliability score's AI factor uses the category's observed success rate in the bin of
# the raw confidence once the category has enough outcomes (the CALIBRATION_MIN_OUTCOMES
# setting) and that bin has at least this many; a sparser bin keeps the raw confidence.
CALIBRATION_MIN_BIN_OUTCOMES = 5
# The history that calibration is fitted from: the category's tickets of these days.
CALIBRATION_WINDOW_DAYS = SUCCESS_HISTORY_WINDOW_DAYS


class ConfidenceLevel(StrEnum):
    VERY_HIGH = "very_high"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Component(StrEnum):
    """The four components, named as in the breakdown (docs/reliability.md)."""

    AI_CONFIDENCE = "ai_confidence"
    HUMAN_VALIDATION = "human_validation"
    SUCCESS_HISTORY = "success_history"
    PATTERN_RECOGNITION = "pattern_recognition"


WEIGHTS: dict[Component, float] = {
    Component.AI_CONFIDENCE: WEIGHT_AI_CONFIDENCE,
    Component.HUMAN_VALIDATION: WEIGHT_HUMAN_FEEDBACK,
    Component.SUCCESS_HISTORY: WEIGHT_SUCCESS_HISTORY,
    Component.PATTERN_RECOGNITION: WEIGHT_PATTERN_MATCH,
}


# --- Inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackDay:
    """One category-day of feedback: how many, how many positive, the sum of the ratings."""

    day: date
    count: int
    positive: int
    rating_sum: int


@dataclass(frozen=True)
class FeedbackFacts:
    """Recency-weighted feedback totals: each feedback counts with its weight."""

    weighted_count: float = 0.0
    weighted_positive: float = 0.0
    weighted_rating_sum: float = 0.0


@dataclass(frozen=True)
class SuccessFacts:
    """Concluded tickets of the category in the success-history window."""

    success: int = 0
    failure: int = 0


@dataclass(frozen=True)
class PatternFacts:
    """The pattern the ticket matched, and how similar the ticket is to it (0-1)."""

    similarity: float
    success_count: int
    failure_count: int
    positive_feedback_count: int = 0
    negative_feedback_count: int = 0
    neutral_feedback_count: int = 0


@dataclass(frozen=True)
class ConfidenceHistory:
    """The category's concluded, analyzed tickets of the calibration window: how many, and
    how many of them (and how many succeeded) in the bin the raw confidence falls in."""

    outcomes: int = 0
    bin_outcomes: int = 0
    bin_successes: int = 0
    min_outcomes: int = 30  # the CALIBRATION_MIN_OUTCOMES setting


@dataclass(frozen=True)
class Prior:
    """The estate's record for a ticket's cause and operation (``prior_for``): a success
    probability (0-1) and the sentence that says what it rests on."""

    mean: float
    source: str


@dataclass(frozen=True)
class ReliabilityInputs:
    ai_confidence: float | None  # 0-1, None when the analysis gave none
    feedback: FeedbackFacts = FeedbackFacts()
    success: SuccessFacts = SuccessFacts()
    pattern: PatternFacts | None = None
    confidence_history: ConfidenceHistory | None = None
    prior: Prior | None = None  # what the estate's record says where this one has none


# --- Outputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentScore:
    component: Component
    score: float  # 0-100, unrounded
    weight: float
    has_data: bool
    note: str  # why it scored what it did; always set, and says so when there is no data
    raw: float | None = None  # the AI factor: the analyzer's own confidence (0-1)
    calibrated: bool = False  # the AI factor: the score is the calibrated confidence
    prior: str = ""  # the score is (or leans on) a prior: where it comes from


@dataclass(frozen=True)
class ReliabilityResult:
    overall_score: float  # 0-100, rounded to one decimal
    confidence_level: ConfidenceLevel
    components: tuple[ComponentScore, ...]  # in the order of ``Component``

    def component(self, which: Component) -> ComponentScore:
        return next(c for c in self.components if c.component == which)


# --- The formulas -------------------------------------------------------------------------


def _clamp(value: float) -> float:
    # NaN compares false with everything; treat it as no score rather than let it through.
    if value != value:
        return MIN_SCORE
    return max(MIN_SCORE, min(MAX_SCORE, value))


def recency_weight(age_days: float) -> float:
    """Weight of a feedback ``age_days`` old; a future day (clock skew) counts as today."""
    return float(0.5 ** (max(0.0, age_days) / FEEDBACK_HALF_LIFE_DAYS))


def weigh_feedback(days: Iterable[FeedbackDay], *, today: date) -> FeedbackFacts:
    """Sum each day's feedback with that day's recency weight."""
    count = positive = rating = 0.0
    for d in days:
        weight = recency_weight((today - d.day).days)
        count += weight * d.count
        positive += weight * d.positive
        rating += weight * d.rating_sum
    return FeedbackFacts(count, positive, rating)


def confidence_level(score: float) -> ConfidenceLevel:
    if score >= VERY_HIGH_MIN_SCORE:
        return ConfidenceLevel.VERY_HIGH
    if score >= HIGH_MIN_SCORE:
        return ConfidenceLevel.HIGH
    if score >= MEDIUM_MIN_SCORE:
        return ConfidenceLevel.MEDIUM
    return ConfidenceLevel.LOW


def combine(ai: float, feedback: float, success: float, pattern: float) -> float:
    """The weighted sum of four 0-100 component scores, rounded to one decimal."""
    total = (
        WEIGHT_AI_CONFIDENCE * _clamp(ai)
        + WEIGHT_HUMAN_FEEDBACK * _clamp(feedback)
        + WEIGHT_SUCCESS_HISTORY * _clamp(success)
        + WEIGHT_PATTERN_MATCH * _clamp(pattern)
    )
    return round(_clamp(total), SCORE_DECIMALS)


def calibrated_confidence(confidence: float, history: ConfidenceHistory | None) -> float | None:
    """The observed success rate (0-1) of the category's past outcomes in the bin that
    ``confidence`` falls in, or None when the history is too thin to say: fewer outcomes in
    the category than ``history.min_outcomes``, or fewer than
    ``CALIBRATION_MIN_BIN_OUTCOMES`` in that bin."""
    if history is None or history.outcomes < history.min_outcomes:
        return None
    if history.bin_outcomes < CALIBRATION_MIN_BIN_OUTCOMES:
        return None
    return history.bin_successes / history.bin_outcomes


def ai_component(
    confidence: float | None, history: ConfidenceHistory | None = None
) -> ComponentScore:
    weight = WEIGHTS[Component.AI_CONFIDENCE]
    if confidence is None or confidence != confidence:
        return ComponentScore(
            Component.AI_CONFIDENCE, 0.0, weight, False, "No confidence from the analysis."
        )
    raw = _clamp(confidence * PERCENT)
    calibrated = calibrated_confidence(confidence, history)
    if calibrated is None or history is None:
        return ComponentScore(
            Component.AI_CONFIDENCE,
            raw,
            weight,
            True,
            f"Analyzer confidence {raw:.0f}%.",
            confidence,
        )
    score = _clamp(calibrated * PERCENT)
    lower, upper = bin_bounds(bin_index(confidence))
    return ComponentScore(
        Component.AI_CONFIDENCE,
        score,
        weight,
        True,
        f"Analyzer confidence {raw:.0f}%, calibrated to {score:.0f}%: "
        f"{history.bin_successes} of {history.bin_outcomes} past tickets of this category "
        f"with a confidence of {lower:.0%}-{upper:.0%} succeeded.",
        confidence,
        True,
    )


def _from_prior(component: Component, prior: Prior, why: str) -> ComponentScore:
    """A component with no record of its own: the prior, and a note that says so."""
    score = _clamp(prior.mean * PERCENT)
    return ComponentScore(
        component,
        score,
        WEIGHTS[component],
        False,
        f"{why}: the prior {score:.0f}% ({prior.source}).",
        prior=prior.source,
    )


def feedback_component(facts: FeedbackFacts, prior: Prior | None = None) -> ComponentScore:
    """The design's ``(positive_feedback_rate*100 + average_rating/5*100) / 2``, both terms
    recency-weighted."""
    weight = WEIGHTS[Component.HUMAN_VALIDATION]
    if facts.weighted_count <= 0:
        if prior is not None:
            return _from_prior(
                Component.HUMAN_VALIDATION, prior, "No feedback in this category yet"
            )
        return ComponentScore(
            Component.HUMAN_VALIDATION, 0.0, weight, False, "No feedback in this category yet."
        )
    positive_rate = facts.weighted_positive / facts.weighted_count
    average_rating = facts.weighted_rating_sum / facts.weighted_count
    score = _clamp((positive_rate * PERCENT + average_rating / MAX_RATING * PERCENT) / 2)
    if facts.weighted_count < CATEGORY_MIN_RECORD and prior is not None:
        own = score
        count = facts.weighted_count
        score = _clamp(
            (count * own + PRIOR_STRENGTH * prior.mean * PERCENT) / (count + PRIOR_STRENGTH)
        )
        return ComponentScore(
            Component.HUMAN_VALIDATION,
            score,
            weight,
            False,
            f"Feedback worth {count:.1f} tickets in this category (positive rate "
            f"{positive_rate:.0%}, average rating {average_rating:.1f}/{MAX_RATING}: {own:.0f}%), "
            f"shrunk toward the prior {prior.mean:.0%} ({prior.source}) until "
            f"{CATEGORY_MIN_RECORD}: {score:.0f}%.",
            prior=prior.source,
        )
    return ComponentScore(
        Component.HUMAN_VALIDATION,
        score,
        weight,
        True,
        f"Recency-weighted positive rate {positive_rate:.0%}, "
        f"average rating {average_rating:.1f}/{MAX_RATING}.",
    )


def success_component(facts: SuccessFacts, prior: Prior | None = None) -> ComponentScore:
    weight = WEIGHTS[Component.SUCCESS_HISTORY]
    concluded = facts.success + facts.failure
    if concluded <= 0 and prior is not None:
        return _from_prior(
            Component.SUCCESS_HISTORY,
            prior,
            f"No concluded tickets in this category in the last {SUCCESS_HISTORY_WINDOW_DAYS} days",
        )
    if concluded <= 0:
        return ComponentScore(
            Component.SUCCESS_HISTORY,
            0.0,
            weight,
            False,
            f"No concluded tickets in this category in the last "
            f"{SUCCESS_HISTORY_WINDOW_DAYS} days.",
        )
    if concluded < CATEGORY_MIN_RECORD and prior is not None:
        rate = shrink(facts.success, facts.failure, prior.mean)
        return ComponentScore(
            Component.SUCCESS_HISTORY,
            _clamp(rate * PERCENT),
            weight,
            False,
            f"{facts.success} of {concluded} concluded tickets in the last "
            f"{SUCCESS_HISTORY_WINDOW_DAYS} days succeeded, shrunk toward the prior "
            f"{prior.mean:.0%} ({prior.source}) until {CATEGORY_MIN_RECORD}: {rate:.0%}.",
            prior=prior.source,
        )
    score = _clamp(facts.success / concluded * PERCENT)
    return ComponentScore(
        Component.SUCCESS_HISTORY,
        score,
        weight,
        True,
        f"{facts.success} of {concluded} concluded tickets in the last "
        f"{SUCCESS_HISTORY_WINDOW_DAYS} days succeeded.",
    )


def pattern_component(facts: PatternFacts | None, prior: Prior | None = None) -> ComponentScore:
    weight = WEIGHTS[Component.PATTERN_RECOGNITION]
    if facts is None:
        if prior is not None:
            return _from_prior(Component.PATTERN_RECOGNITION, prior, "No matching pattern")
        return ComponentScore(
            Component.PATTERN_RECOGNITION, 0.0, weight, False, "No matching pattern."
        )
    concluded = facts.success_count + facts.failure_count
    if concluded < PATTERN_MIN_CONCLUDED_TICKETS and prior is not None:
        # The pattern's own record, as it accrues, shrunk toward the prior (a Beta posterior
        # mean with the prior worth PRIOR_STRENGTH outcomes); from the third concluded
        # ticket on its record alone counts (below).
        similarity = max(0.0, min(1.0, facts.similarity))
        rate = shrink(facts.success_count, facts.failure_count, prior.mean)
        score = _clamp(similarity * rate * PERCENT)
        return ComponentScore(
            Component.PATTERN_RECOGNITION,
            score,
            weight,
            False,
            f"The matched pattern has {facts.success_count} of {concluded} concluded tickets "
            f"succeeded, shrunk toward the prior {prior.mean:.0%} ({prior.source}): "
            f"similarity {similarity:.0%} x {rate:.0%}.",
            prior=prior.source,
        )
    if concluded < PATTERN_MIN_CONCLUDED_TICKETS:
        return ComponentScore(
            Component.PATTERN_RECOGNITION,
            0.0,
            weight,
            False,
            f"The matched pattern has {concluded} concluded similar tickets; "
            f"at least {PATTERN_MIN_CONCLUDED_TICKETS} are needed.",
        )
    similarity = max(0.0, min(1.0, facts.similarity))
    # The pattern's positive outcome rate (``Pattern.positive_outcome_rate``): of its
    # concluded tickets, the share that succeeded; concluded is at least 3 here.
    positive = ratio(facts.success_count, concluded, None) or 0.0
    score = similarity * positive * PERCENT
    feedback_total = (
        facts.positive_feedback_count + facts.negative_feedback_count + facts.neutral_feedback_count
    )
    boosted = (
        feedback_total > 0
        and facts.positive_feedback_count / feedback_total > PATTERN_POSITIVE_FEEDBACK_MIN_RATE
    )
    if boosted:
        score *= PATTERN_POSITIVE_FEEDBACK_BOOST
    note = f"Similarity {similarity:.0%} x positive outcome rate {positive:.0%}"
    note += ", boosted for positive feedback." if boosted else "."
    return ComponentScore(Component.PATTERN_RECOGNITION, _clamp(score), weight, True, note)


def compute_reliability(inputs: ReliabilityInputs) -> ReliabilityResult:
    components = (
        ai_component(inputs.ai_confidence, inputs.confidence_history),
        feedback_component(inputs.feedback, inputs.prior),
        success_component(inputs.success, inputs.prior),
        pattern_component(inputs.pattern, inputs.prior),
    )
    overall = combine(*(c.score for c in components))
    return ReliabilityResult(overall, confidence_level(overall), components)


def _percent(score: float) -> str:
    return f"{round(score):d}%"


def breakdown_dict(result: ReliabilityResult) -> dict[str, object]:
    """The API's ``reliability_breakdown`` (docs/reliability.md), plus ``notes``: why each
    component without data scored 0 (empty when every component had data), and whether the
    AI factor is the calibrated confidence (``ai_confidence_calibrated``, with the
    analyzer's own value in ``ai_confidence_raw`` and, when calibrated, the reason in
    ``ai_confidence_calibration``)."""
    ai = result.component(Component.AI_CONFIDENCE)
    out: dict[str, object] = {
        "overall_score": result.overall_score,
        "confidence_level": str(result.confidence_level),
        "breakdown": {str(c.component): _percent(c.score) for c in result.components},
        "notes": {str(c.component): c.note for c in result.components if not c.has_data},
        "ai_confidence_calibrated": ai.calibrated,
        "ai_confidence_raw": ai.raw,
    }
    # Which values are priors (the component had no record of its own), and from what.
    priors = {str(c.component): c.prior for c in result.components if c.prior}
    if priors:
        out["priors"] = priors
    if ai.calibrated:
        out["ai_confidence_calibration"] = ai.note
    return out


# --- Calibration: predictions against outcomes -----------------------------------------------
# bin_edges, bin_bounds and bin_index are remediation.rules' (the tickets' calibration rollup
# bins confidences with them too), imported above.


@dataclass
class BinTotals:
    """What a bin's figures are computed from: outcomes, successes, the sum of the
    predictions and the sum of the squared errors (p - outcome)^2."""

    count: int = 0
    successes: int = 0
    sum_predicted: float = 0.0
    sum_squared_error: float = 0.0

    def add(self, *, success: bool, count: int, sum_predicted: float, sum_squared: float) -> None:
        """Add ``count`` outcomes that were all successes (or all failures), given the sum of
        their predictions and of the squares of those: sum (p - y)^2 = sum p^2 - 2y sum p
        + count y^2, so a grouped query can hand over its sums."""
        y = 1.0 if success else 0.0
        self.count += count
        self.successes += count if success else 0
        self.sum_predicted += sum_predicted
        self.sum_squared_error += max(0.0, sum_squared - 2 * y * sum_predicted + count * y)

    def merge(self, other: BinTotals) -> None:
        self.count += other.count
        self.successes += other.successes
        self.sum_predicted += other.sum_predicted
        self.sum_squared_error += other.sum_squared_error


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    mean_predicted: float | None  # None for an empty bin
    observed_rate: float | None  # share of successes; None for an empty bin


@dataclass(frozen=True)
class CalibrationReport:
    count: int
    ece: float | None  # expected calibration error; None without outcomes
    brier: float | None  # mean squared error of the predictions; None without outcomes
    bins: tuple[CalibrationBin, ...]


def empty_totals(bins: int = CALIBRATION_BINS) -> list[BinTotals]:
    return [BinTotals() for _ in range(bins)]


def clamp_probability(p: float) -> float:
    return max(0.0, min(1.0, p))


def report_from_totals(totals: list[BinTotals]) -> CalibrationReport:
    """The reliability diagram, ECE and Brier score from per-bin totals.

    ECE = sum over bins of (n_bin / N) * |mean predicted - observed rate|;
    Brier = sum of (p - outcome)^2 / N. Both None when there is no outcome.
    """
    bins = len(totals)
    n = sum(t.count for t in totals)
    rows = []
    ece = 0.0
    squared = 0.0
    for k, t in enumerate(totals):
        lower, upper = bin_bounds(k, bins)
        if t.count == 0:
            rows.append(CalibrationBin(lower, upper, 0, None, None))
            continue
        mean = t.sum_predicted / t.count
        rate = t.successes / t.count
        ece += t.count / n * abs(mean - rate)
        squared += t.sum_squared_error
        rows.append(
            CalibrationBin(
                lower,
                upper,
                t.count,
                round(mean, CALIBRATION_DECIMALS),
                round(rate, CALIBRATION_DECIMALS),
            )
        )
    if n == 0:
        return CalibrationReport(0, None, None, tuple(rows))
    return CalibrationReport(
        n, round(ece, CALIBRATION_DECIMALS), round(squared / n, CALIBRATION_DECIMALS), tuple(rows)
    )


def calibration_report(
    pairs: Iterable[tuple[float, bool | int]], bins: int = CALIBRATION_BINS
) -> CalibrationReport:
    """The calibration of (predicted probability in [0, 1], outcome 1 or 0) pairs. A
    prediction outside [0, 1] is clamped into it; a NaN one is left out."""
    totals = empty_totals(bins)
    for predicted, outcome in pairs:
        if predicted != predicted:
            continue
        p = clamp_probability(predicted)
        totals[bin_index(p, bins)].add(
            success=bool(outcome), count=1, sum_predicted=p, sum_squared=p * p
        )
    return report_from_totals(totals)


# --- Priors: no data is not zero (docs/reliability.md, "Priors") ---------------------------
# A component with no record of its own takes the estate's record for the same cause and
# operation, each level a Beta posterior mean shrunk toward the level above it:
#   estate:              (s + 1) / (n + 2)                 (a uniform Beta(1, 1) start)
#   operation:           (s + k * p_estate) / (n + k)      (the operation on every target)
#   cause and operation: (s + k * p_operation) / (n + k)   (the cause elsewhere)
# with k = PRIOR_STRENGTH pseudo-outcomes. Counts are executed, concluded tickets of the fit's
# window. With no outcome anywhere in the estate there is no prior (the component scores 0).
PRIOR_STRENGTH = 3.0


def shrink(
    successes: int, failures: int, prior_mean: float, strength: float = PRIOR_STRENGTH
) -> float:
    """The Beta-binomial posterior mean: the record ``successes`` of ``successes +
    failures`` with a Beta(strength * prior_mean, strength * (1 - prior_mean)) prior."""
    n = max(0, successes) + max(0, failures)
    return (max(0, successes) + strength * prior_mean) / (n + strength)


def _counts(table: object, key: str) -> tuple[int, int]:
    if not isinstance(table, dict):
        return 0, 0
    row = table.get(key)
    if not isinstance(row, list | tuple) or len(row) != 2:
        return 0, 0
    return int(row[0]), int(row[1])


def prior_for(priors: dict | None, *, cause: str, operation: str) -> Prior | None:
    """The prior for a ticket whose diagnosis names ``cause`` and whose fix is
    ``operation`` ("" when unknown), from the fit's ``priors`` table; None without any
    outcome in the estate."""
    if not isinstance(priors, dict):
        return None
    es, ef = _counts(priors, "estate")
    if es + ef == 0:
        return None
    mean = (es + 1) / (es + ef + 2)
    parts = [f"all fixes {es}/{es + ef}"]
    if operation:
        os_, of = _counts(priors.get("operations"), operation)
        mean = shrink(os_, of, mean)
        if os_ + of:
            parts.insert(0, f"{operation} in the estate {os_}/{os_ + of}")
        if cause:
            cs, cf = _counts(priors.get("causes"), f"{cause}|{operation}")
            mean = shrink(cs, cf, mean)
            if cs + cf:
                parts.insert(0, f"{cause} fixed by {operation} elsewhere {cs}/{cs + cf}")
    return Prior(mean=round(mean, CALIBRATION_DECIMALS), source="; ".join(parts))


# --- The calibrated probability (docs/reliability.md, "The calibrated probability") --------
# Fitted on the estate's concluded tickets: the score the decision saw (/100) against the
# outcome. Per category by isotonic regression once the category has this many outcomes;
# before that the estate's fit over every category; with fewer in the estate, none.
CALIBRATION_FIT_MIN_OUTCOMES = 20
# Each isotonic block's rate is shrunk toward the fitted group's base rate by this many
# pseudo-outcomes, so a block of three successes does not claim certainty.
CALIBRATION_FIT_SMOOTHING = 2.0
FIT_DECIMALS = 4


def _pav(points: list[tuple[float, float, float]]) -> list[list[float]]:
    """Pool adjacent violators over (x, y, weight) sorted by x: blocks of
    [x_min, x_max, mean y, weight] whose means never decrease."""
    blocks: list[list[float]] = []
    for x, y, w in points:
        blocks.append([x, x, y, w])
        while len(blocks) > 1 and blocks[-2][2] >= blocks[-1][2]:
            b = blocks.pop()
            a = blocks[-1]
            total = a[3] + b[3]
            a[2] = (a[2] * a[3] + b[2] * b[3]) / total
            a[1] = b[1]
            a[3] = total
    return blocks


def isotonic_fit(pairs: Iterable[tuple[float, bool | int]]) -> dict[str, object]:
    """A monotone map from prediction (0-1) to observed success rate: isotonic regression
    (pool adjacent violators), each block shrunk toward the base rate, then pooled again.
    Returns {"method": "isotonic", "n", "base_rate", "knots": [[x, y], ...]}."""
    clean = sorted((clamp_probability(p), 1.0 if y else 0.0) for p, y in pairs if p == p)
    n = len(clean)
    if n == 0:
        return {"method": "isotonic", "n": 0, "base_rate": None, "knots": []}
    base = sum(y for _, y in clean) / n
    grouped: dict[float, list[float]] = {}
    for p, y in clean:
        grouped.setdefault(p, []).append(y)
    points = [(x, sum(ys) / len(ys), float(len(ys))) for x, ys in sorted(grouped.items())]
    blocks = _pav(points)
    smoothed = [
        (b[0], b[1], (b[2] * b[3] + CALIBRATION_FIT_SMOOTHING * base)
         / (b[3] + CALIBRATION_FIT_SMOOTHING), b[3])
        for b in blocks
    ]  # fmt: skip
    knots: list[list[float]] = []
    for x0, x1, y, _ in _pav_spans(smoothed):
        y = round(y, FIT_DECIMALS)
        knots.append([round(x0, FIT_DECIMALS), y])
        if x1 != x0:
            knots.append([round(x1, FIT_DECIMALS), y])
    return {"method": "isotonic", "n": n, "base_rate": round(base, FIT_DECIMALS), "knots": knots}


def _pav_spans(blocks: Iterable[tuple[float, float, float, float]]) -> list[list[float]]:
    """``_pav`` over blocks that already span [x_min, x_max]."""
    out: list[list[float]] = []
    for x0, x1, y, w in blocks:
        out.append([x0, x1, y, w])
        while len(out) > 1 and out[-2][2] >= out[-1][2]:
            b = out.pop()
            a = out[-1]
            total = a[3] + b[3]
            a[2] = (a[2] * a[3] + b[2] * b[3]) / total
            a[1] = b[1]
            a[3] = total
    return out


def apply_knots(knots: list, p: float) -> float:
    """The fitted map at ``p``: linear between knots, flat beyond the ends."""
    p = clamp_probability(p)
    if not knots:
        return p
    if p <= knots[0][0]:
        return float(knots[0][1])
    for (x0, y0), (x1, y1) in pairwise(knots):
        if p <= x1:
            if x1 == x0:
                return float(y1)
            return float(y0 + (y1 - y0) * (p - x0) / (x1 - x0))
    return float(knots[-1][1])


def calibration_fit(
    pairs_by_category: dict[str, list[tuple[float, bool]]],
    *,
    min_outcomes: int = CALIBRATION_FIT_MIN_OUTCOMES,
) -> dict[str, object]:
    """The fitted maps: the estate's (every category's pairs) when it has ``min_outcomes``,
    and each category's own once it has that many. Categories with fewer are absent."""
    everything = [pair for pairs in pairs_by_category.values() for pair in pairs]
    estate = isotonic_fit(everything) if len(everything) >= min_outcomes else None
    categories = {
        category: isotonic_fit(pairs)
        for category, pairs in sorted(pairs_by_category.items())
        if len(pairs) >= min_outcomes
    }
    return {"estate": estate, "categories": categories, "min_outcomes": min_outcomes}


@dataclass(frozen=True)
class Calibrated:
    """The calibrated probability for a score, and what gave it."""

    probability: float  # 0-1
    basis: str  # "category", "estate"
    explanation: str


def calibrated_probability(
    fit: dict | None, *, version: int | None, category: str, score: float | None
) -> Calibrated | None:
    """The probability the fix succeeds and holds, for a ``score`` (0-100) in ``category``,
    from a stored fit: the category's map, else the estate's; None without a map (the
    score is then the only number) or without a score."""
    if not isinstance(fit, dict) or score is None or score != score:
        return None
    categories = fit.get("categories") if isinstance(fit.get("categories"), dict) else {}
    own = categories.get(category) if isinstance(categories, dict) else None
    chosen, basis = (own, "category") if isinstance(own, dict) else (fit.get("estate"), "estate")
    if not isinstance(chosen, dict) or not chosen.get("knots"):
        return None
    p = round(apply_knots(chosen["knots"], score / PERCENT), FIT_DECIMALS)
    where = f"category {category}" if basis == "category" else "the whole estate"
    return Calibrated(
        probability=p,
        basis=basis,
        explanation=f"calibration v{version}, isotonic fit on {chosen.get('n')} concluded "
        f"tickets of {where}",
    )
