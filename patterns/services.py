"""Writes to patterns: observe a ticket, and keep every statistic and the eligibility in step.

Every function here must run inside the caller's transaction (they open a savepoint if not)
and locks the pattern row with ``select_for_update`` before reading it, so concurrent
workers updating the same pattern serialize instead of losing an increment.

Each statistic change re-evaluates eligibility (``patterns.eligibility``) and returns an
``EligibilityChange`` when the verdict flipped, else ``None``. This app may not import the
audit trail (it lives in ``remediation``), so the caller writes the
``AuditEvent(action=PATTERN_ELIGIBILITY_CHANGED)``; ``remediation.outcomes.
audit_eligibility_change`` does exactly that.

Sums are kept of values rounded to ``SUM_DECIMALS`` and re-rounded after each addition, so
that an incremental sum and the set-based one of ``recompute_patterns`` give the very same
float whatever order the values were added in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field
from django.utils import timezone

from patterns.eligibility import PatternStats, Thresholds, is_eligible
from patterns.models import Pattern
from patterns.signature import signature_for

# The values of remediation.models.TicketOutcome and feedback.models.FeedbackType; this app
# may not import those apps, so the strings are named here once.
OUTCOME_SUCCESS = "success"
OUTCOME_FAILURE = "failure"
CONCLUDED_OUTCOMES = (OUTCOME_SUCCESS, OUTCOME_FAILURE)
FEEDBACK_TYPES = ("positive", "negative", "neutral")

SUM_DECIMALS = 6
REBUILD_BATCH_SIZE = 1000  # rows per UPDATE: 19 values each, under SQLite's 32,766


@dataclass(frozen=True)
class EligibilityChange:
    """The eligibility of ``pattern`` flipped to ``eligible``; ``reasons`` say why."""

    pattern: Pattern
    eligible: bool
    reasons: list[str]


def quantize(value: float) -> float:
    return round(float(value), SUM_DECIMALS)


def current_thresholds() -> Thresholds:
    return Thresholds(
        min_occurrences=int(settings.PATTERN_MIN_OCCURRENCES),
        min_positive_rate=float(settings.PATTERN_MIN_POSITIVE_RATE),
        min_reliability=float(settings.PATTERN_MIN_RELIABILITY),
        min_success_rate=float(settings.PATTERN_MIN_SUCCESS_RATE),
    )


def pattern_stats(pattern: Pattern) -> PatternStats:
    return PatternStats(
        occurrence_count=pattern.occurrence_count,
        positive_feedback_rate=pattern.positive_feedback_rate,
        avg_reliability_score=pattern.avg_reliability_score,
        auto_remediation_success_rate=pattern.auto_remediation_success_rate,
        # A pattern flagged for review (trusted feedback disagreed with a measured
        # outcome) counts as switched off until an admin clears the flag.
        enabled=pattern.enabled and not pattern.needs_review,
    )


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _average(total: float, count: int) -> float:
    return quantize(total / count) if count else 0.0


def _refresh_derived(p: Pattern) -> None:
    """Recompute every rate and average from the counts and sums on the row."""
    feedback_total = (
        p.positive_feedback_count + p.negative_feedback_count + p.neutral_feedback_count
    )
    p.positive_feedback_rate = _ratio(p.positive_feedback_count, feedback_total)
    p.avg_confidence_score = _average(p.confidence_sum, p.occurrence_count)
    p.avg_reliability_score = _average(p.reliability_sum, p.reliability_count)
    p.auto_remediation_success_rate = _ratio(
        p.auto_remediation_successes, p.auto_remediation_attempts
    )


def _settle_eligibility(p: Pattern, *, at: datetime) -> EligibilityChange | None:
    eligible, reasons = is_eligible(pattern_stats(p), current_thresholds())
    if eligible == p.eligible_for_auto_remediation:
        return None
    p.eligible_for_auto_remediation = eligible
    p.eligibility_changed_at = at
    return EligibilityChange(pattern=p, eligible=eligible, reasons=reasons)


_DERIVED_FIELDS = [
    "positive_feedback_rate",
    "avg_confidence_score",
    "avg_reliability_score",
    "auto_remediation_success_rate",
    "eligible_for_auto_remediation",
    "eligibility_changed_at",
]


def _update(
    pattern: Pattern, change: Callable[[Pattern], None], fields: list[str]
) -> EligibilityChange | None:
    """Lock the row, apply ``change`` to it, refresh rates and eligibility, save.

    The caller's instance gets the new values too, so ``ticket.pattern`` stays current.
    """
    with transaction.atomic():
        locked = Pattern.objects.select_for_update().get(pk=pattern.pk)
        change(locked)
        _refresh_derived(locked)
        result = _settle_eligibility(locked, at=timezone.now())
        update_fields = fields + _DERIVED_FIELDS
        locked.save(update_fields=update_fields)
    for name in update_fields:
        setattr(pattern, name, getattr(locked, name))
    return result


def pattern_lock(pattern_id: int) -> Pattern:
    """The pattern row, locked for the rest of the caller's transaction.

    For callers that change several statistics in one event (a feedback) and save them
    with ``pattern_save_locked`` in one write, instead of one lock-read-write per change.
    """
    return Pattern.objects.select_for_update().get(pk=pattern_id)


def apply_feedback(p: Pattern, feedback_type: str) -> list[str]:
    """In memory: one more feedback of ``feedback_type``; returns the changed fields."""
    if feedback_type not in FEEDBACK_TYPES:
        raise ValueError(f"Unknown feedback type {feedback_type!r}")
    field = f"{feedback_type}_feedback_count"
    setattr(p, field, getattr(p, field) + 1)
    return [field]


def apply_outcome(p: Pattern, *, old: str, new: str, remediated: bool) -> list[str]:
    """In memory: a ticket of ``p`` changed outcome (see ``pattern_record_outcome``)."""
    p.success_count += (new == OUTCOME_SUCCESS) - (old == OUTCOME_SUCCESS)
    p.failure_count += (new == OUTCOME_FAILURE) - (old == OUTCOME_FAILURE)
    if remediated:
        p.auto_remediation_attempts += (new in CONCLUDED_OUTCOMES) - (old in CONCLUDED_OUTCOMES)
        p.auto_remediation_successes += (new == OUTCOME_SUCCESS) - (old == OUTCOME_SUCCESS)
    return [
        "success_count",
        "failure_count",
        "auto_remediation_attempts",
        "auto_remediation_successes",
    ]


def apply_reliability(p: Pattern, *, old: float | None, new: float | None) -> list[str]:
    """In memory: a ticket of ``p`` was (re)scored from ``old`` to ``new``."""
    if old is not None:
        p.reliability_sum = quantize(p.reliability_sum - quantize(old))
        p.reliability_count -= 1
    if new is not None:
        p.reliability_sum = quantize(p.reliability_sum + quantize(new))
        p.reliability_count += 1
    if p.reliability_count == 0:
        p.reliability_sum = 0.0
    return ["reliability_sum", "reliability_count"]


def flag_for_review(p: Pattern) -> list[str]:
    """In memory: trusted feedback disagreed with a measured outcome of one of its tickets."""
    p.needs_review = True
    return ["needs_review"]


def pattern_save_locked(p: Pattern, fields: list[str]) -> EligibilityChange | None:
    """Refresh rates and eligibility of a pattern locked by ``pattern_lock`` and changed
    by the ``apply_*`` functions, and write it once."""
    _refresh_derived(p)
    result = _settle_eligibility(p, at=timezone.now())
    p.save(update_fields=sorted(set(fields) | set(_DERIVED_FIELDS)))
    return result


def _get_or_create_by_signature(category: str, title: str, description: str) -> Pattern:
    sig = signature_for(category, title, description)
    existing = Pattern.objects.filter(hash=sig.hash).first()
    if existing is not None:
        return existing
    try:
        # A savepoint: when another worker creates the same pattern first, the unique hash
        # refuses ours and we use theirs, without spoiling the caller's transaction.
        with transaction.atomic():
            return Pattern.objects.create(
                hash=sig.hash,
                category=sig.category,
                key_terms=list(sig.key_terms),
                signature=sig.text,
            )
    except IntegrityError:
        return Pattern.objects.get(hash=sig.hash)


def pattern_observe(
    *,
    category: str,
    title: str,
    description: str,
    confidence: float,
    at: datetime | None = None,
) -> Pattern:
    """Record one analyzed ticket on the pattern its text belongs to (created if new).

    Adds one occurrence and the ticket's confidence, moves first/last seen. Eligibility is
    not settled here: an extra occurrence can only ever make a pattern eligible, and the
    analysis transaction settles it in its next step (``score_ticket`` calls
    ``pattern_reliability_changed``), which returns the change for the audit trail. Callers
    outside that flow call ``pattern_reevaluate`` after this.
    """
    when = at or timezone.now()
    pattern = _get_or_create_by_signature(category, title, description)

    def change(p: Pattern) -> None:
        p.occurrence_count += 1
        p.confidence_sum = quantize(p.confidence_sum + quantize(confidence))
        if p.first_seen_at is None or when < p.first_seen_at:
            p.first_seen_at = when
        if p.last_seen_at is None or when > p.last_seen_at:
            p.last_seen_at = when

    with transaction.atomic():
        locked = Pattern.objects.select_for_update().get(pk=pattern.pk)
        change(locked)
        _refresh_derived(locked)
        locked.save(
            update_fields=[
                "occurrence_count",
                "confidence_sum",
                "first_seen_at",
                "last_seen_at",
                "positive_feedback_rate",
                "avg_confidence_score",
                "avg_reliability_score",
                "auto_remediation_success_rate",
            ]
        )
    return locked


def pattern_reevaluate(pattern: Pattern) -> EligibilityChange | None:
    """Settle eligibility against the current thresholds without changing a statistic."""
    return _update(pattern, lambda p: None, [])


def pattern_reliability_changed(
    pattern: Pattern, *, old: float | None, new: float | None
) -> EligibilityChange | None:
    """A ticket of this pattern was (re)scored from ``old`` to ``new`` (None: unscored).

    Always settles eligibility, even when the score did not move, because the analysis
    flow relies on this call to settle the verdict after ``pattern_observe``.
    """

    def change(p: Pattern) -> None:
        apply_reliability(p, old=old, new=new)

    return _update(pattern, change, ["reliability_sum", "reliability_count"])


def pattern_record_outcome(
    pattern: Pattern, *, old: str, new: str, remediated: bool = False
) -> EligibilityChange | None:
    """A ticket of this pattern changed outcome from ``old`` to ``new``.

    ``remediated``: the ticket's actions were executed (``auto_remediation_executed``),
    automatically or after a person approved them. Its concluded outcome is then also a
    remediation attempt, successful or not: this is how executions count toward the
    pattern's remediation success rate, and what ``recompute_patterns`` counts.
    """

    def change(p: Pattern) -> None:
        apply_outcome(p, old=old, new=new, remediated=remediated)

    return _update(
        pattern,
        change,
        [
            "success_count",
            "failure_count",
            "auto_remediation_attempts",
            "auto_remediation_successes",
        ],
    )


def pattern_record_feedback(pattern: Pattern, *, feedback_type: str) -> EligibilityChange | None:
    """One more feedback of ``feedback_type`` (positive, negative or neutral)."""
    if feedback_type not in FEEDBACK_TYPES:
        raise ValueError(f"Unknown feedback type {feedback_type!r}")
    field = f"{feedback_type}_feedback_count"

    def change(p: Pattern) -> None:
        apply_feedback(p, feedback_type)

    return _update(pattern, change, [field])


def pattern_record_execution(pattern: Pattern, *, succeeded: bool) -> EligibilityChange | None:
    """One remediation attempt concluded, counted directly.

    For an execution whose result is *not* also recorded as the ticket's outcome through
    ``pattern_record_outcome(..., remediated=True)``: use one or the other per ticket, never
    both, or the attempt is counted twice. ``recompute_patterns`` rebuilds attempts from
    remediated tickets' outcomes, so executions recorded as outcomes survive a rebuild.
    """

    def change(p: Pattern) -> None:
        p.auto_remediation_attempts += 1
        p.auto_remediation_successes += int(succeeded)

    return _update(pattern, change, ["auto_remediation_attempts", "auto_remediation_successes"])


def pattern_set_enabled(pattern: Pattern, *, enabled: bool) -> EligibilityChange | None:
    """Switch a pattern on or off; a disabled pattern is never eligible."""

    def change(p: Pattern) -> None:
        p.enabled = enabled

    return _update(pattern, change, ["enabled"])


def pattern_clear_review(pattern: Pattern) -> EligibilityChange | None:
    """An admin reviewed the disagreement that flagged this pattern; it may be eligible again."""

    def change(p: Pattern) -> None:
        p.needs_review = False

    return _update(pattern, change, ["needs_review"])


def pattern_record_rejection(pattern: Pattern) -> None:
    """An approver refused the actions proposed for a ticket of this pattern.

    Counted with an atomic increment: concurrent rejections never lose one. Eligibility does
    not read it (what people refuse is kept from being proposed instead)."""
    Pattern.objects.filter(pk=pattern.pk).update(rejection_count=F("rejection_count") + 1)
    pattern.refresh_from_db(fields=["rejection_count"])


@dataclass(frozen=True)
class PatternTotals:
    """Everything a pattern's statistics derive from, counted from tickets and feedback."""

    occurrence_count: int = 0
    confidence_sum: float = 0.0
    success_count: int = 0
    failure_count: int = 0
    positive_feedback_count: int = 0
    negative_feedback_count: int = 0
    neutral_feedback_count: int = 0
    reliability_sum: float = 0.0
    reliability_count: int = 0
    auto_remediation_attempts: int = 0
    auto_remediation_successes: int = 0


_TOTAL_FIELDS = list(PatternTotals.__dataclass_fields__)


def pattern_rebuild(
    totals: Mapping[int, PatternTotals],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[EligibilityChange]:
    """Overwrite every pattern's statistics with ``totals`` (by pattern id; absent: zero).

    All pattern rows are locked first, so no incremental update interleaves with the
    rebuild; the caller must read ``totals`` *after* calling this inside the same
    transaction, or accept that an update committed in between is overwritten (the
    ``feedback.services.patterns_recompute`` service takes the locks first, then counts).
    Returns the eligibility changes; ``progress(rewritten, total)`` is called once, with
    the number of rows whose numbers were wrong and were rewritten.
    """
    changes: list[EligibilityChange] = []
    now = timezone.now()
    fields = _TOTAL_FIELDS + _DERIVED_FIELDS
    with transaction.atomic():
        patterns = list(Pattern.objects.select_for_update().order_by("id"))
        stale: list[Pattern] = []
        for p in patterns:
            before = [getattr(p, name) for name in fields]
            t = totals.get(p.pk, PatternTotals())
            for name in _TOTAL_FIELDS:
                value = getattr(t, name)
                setattr(p, name, quantize(value) if isinstance(value, float) else value)
            _refresh_derived(p)
            change = _settle_eligibility(p, at=now)
            if change is not None:
                changes.append(change)
            # Rows that already hold the right numbers are not rewritten (no dead tuples,
            # no index churn): a recompute of a consistent table writes nothing.
            if [getattr(p, name) for name in fields] != before:
                stale.append(p)
        for start in range(0, len(stale), REBUILD_BATCH_SIZE):
            _update_from_values(stale[start : start + REBUILD_BATCH_SIZE], fields)
        if progress is not None:
            progress(len(stale), len(patterns))
    return changes


def _update_from_values(patterns: list[Pattern], fields: list[str]) -> None:
    """Write ``fields`` of every pattern in one ``UPDATE … FROM`` a list of rows.

    ``bulk_update`` writes one ``CASE WHEN id = … THEN …`` per field with a branch per row,
    which the database evaluates row by row: at 1,000 patterns that took 7 of the 10
    seconds of a recompute. Joining the new rows by id is a hash join. The values are the
    ones computed in Python above, so the numbers stay exactly those of the incremental
    updates. On PostgreSQL the rows go as one array per column (``unnest``): a handful of
    parameters instead of one per value. SQLite (3.33+) takes ``WITH v(…) AS (VALUES …)
    UPDATE … FROM v``.
    """
    if not patterns:
        return
    meta = Pattern._meta
    model_fields: list[Field[Any, Any]] = [meta.pk, *(_concrete(name) for name in fields)]  # type: ignore[list-item]
    columns = [str(f.column) for f in model_fields]
    # int, float, bool and aware datetime values go to psycopg as they are; SQLite needs
    # its own adaptation (datetimes as text).
    prepare = connection.vendor != "postgresql"
    rows = [
        [
            f.get_db_prep_save(getattr(p, f.attname), connection)
            if prepare
            else getattr(p, f.attname)
            for f in model_fields
        ]
        for p in patterns
    ]
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    names = ", ".join(qn(c) for c in columns)
    assignments = ", ".join(f"{qn(c)} = v.{qn(c)}" for c in columns[1:])
    key = qn(columns[0])
    params: list[Any]
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in model_fields)
        source = f"SELECT * FROM unnest({arrays}) AS v ({names})"  # noqa: S608
        params = [list(column) for column in zip(*rows, strict=True)]
    else:
        row = "(" + ", ".join(["%s"] * len(model_fields)) + ")"
        source = f"VALUES {', '.join([row] * len(rows))}"
        params = [value for r in rows for value in r]
    # Only names from the model's own metadata go into the text; every value is a parameter.
    sql = (
        f"WITH v ({names}) AS ({source}) "  # noqa: S608
        f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{key} = v.{key}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _concrete(name: str) -> Field[Any, Any]:
    field = Pattern._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def lock_all_patterns() -> int:
    """Lock every pattern row for the rest of the transaction; returns how many."""
    return len(Pattern.objects.select_for_update().order_by("id").values_list("id", flat=True))
