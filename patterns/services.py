"""Writes to patterns: observe a ticket, and keep every statistic and the eligibility in step.

Every function here runs inside the caller's transaction (in its own when there is none)
and locks the pattern row with ``select_for_update`` before reading it, so concurrent
workers updating the same pattern serialize instead of losing an increment.

Every statistic changes through ``pattern_update``, which re-evaluates eligibility
(``patterns.rules.eligibility``), writes an ``AuditEvent(action=PATTERN_ELIGIBILITY_CHANGED)``
when the verdict flipped and returns that ``EligibilityChange`` (else ``None``). The audit
trail is the one part of ``remediation`` this app uses.

Sums are kept of values rounded to ``SUM_DECIMALS`` and re-rounded after each addition, so
that an incremental sum and the set-based one of ``recompute_patterns`` give the very same
float whatever order the values were added in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from patterns.models import FULL_PRECISION, Pattern
from patterns.rules.eligibility import PatternStats, Thresholds, is_eligible
from patterns.rules.signature import Signature, cause_signature, signature_for
from remediation.audit.models import AuditAction
from remediation.audit.services import audit
from remediation.rules import ratio

if TYPE_CHECKING:  # for annotations only: patterns sit below tickets
    from remediation.tickets.models import Ticket

# The values of remediation.models.TicketOutcome and feedback.models.FeedbackType; this app
# may not import those apps, so the strings are named here once.
OUTCOME_SUCCESS = "success"
OUTCOME_FAILURE = "failure"
CONCLUDED_OUTCOMES = (OUTCOME_SUCCESS, OUTCOME_FAILURE)
FEEDBACK_TYPES = ("positive", "negative", "neutral")

SUM_DECIMALS = 6
REBUILD_BATCH_SIZE = 1000  # rows per UPDATE: 22 values each, under SQLite's 32,766


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
        min_shadow_agreement=float(settings.PATTERN_MIN_SHADOW_AGREEMENT),
        min_shadow_decisions=int(settings.PATTERN_MIN_SHADOW_DECISIONS),
    )


def pattern_stats(pattern: Pattern) -> PatternStats:
    return PatternStats(
        occurrence_count=pattern.occurrence_count,
        positive_outcome_rate=pattern.positive_outcome_rate,
        avg_reliability_score=pattern.avg_reliability_score,
        auto_remediation_success_rate=pattern.auto_remediation_success_rate,
        enabled=pattern.enabled,
        # A pattern flagged for review (trusted feedback disagreed with a measured
        # outcome) is not eligible until an admin clears the flag.
        needs_review=pattern.needs_review,
        shadow_agreement_count=pattern.shadow_agreement_count,
        shadow_disagreement_count=pattern.shadow_disagreement_count,
    )


def eligibility_unmet(pattern: Pattern) -> list[str]:
    """Why ``pattern`` is not eligible for auto-remediation now, in words (every unmet
    condition, at the current thresholds); empty when it is eligible."""
    eligible, reasons = is_eligible(pattern_stats(pattern), current_thresholds())
    return [] if eligible else reasons


def _stored(part: int, whole: int) -> float:
    """A rate as the row stores it for the eligibility thresholds (``remediation.rules.ratio``
    unrounded): no data is stored as 0.0, which fails every threshold; the pages and the API
    show it as no data (``Pattern.shown_rates``)."""
    return ratio(part, whole, FULL_PRECISION) or 0.0


def _average(total: float, count: int) -> float:
    return quantize(total / count) if count else 0.0


# Each pattern's latest scored, concluded tickets, read through the partial index
# ticket_pattern_scored_recent: at most the window's rows per pattern, whatever the history.
_RECENT_SCORES_SQL = """
SELECT p.id, t.reliability_score
FROM patterns_pattern AS p
CROSS JOIN LATERAL (
    SELECT id, reliability_score FROM remediation_ticket
    WHERE pattern_id = p.id AND outcome IN ('success', 'failure')
      AND reliability_score IS NOT NULL
    ORDER BY id DESC LIMIT %s
) AS t
{where}
ORDER BY p.id, t.id DESC
"""


def _recent_scores(pattern_ids: list[int] | None = None) -> dict[int, list[float]]:
    """The reliability scores of each pattern's latest PATTERN_RELIABILITY_WINDOW concluded
    tickets (newest first), in one query; ``pattern_ids`` None: every pattern's."""
    window = int(settings.PATTERN_RELIABILITY_WINDOW)
    scores: dict[int, list[float]] = {}
    if connection.vendor == "postgresql":
        every = pattern_ids is None
        sql = _RECENT_SCORES_SQL.format(where="" if every else "WHERE p.id = ANY(%s)")
        with connection.cursor() as cursor:
            # Index reads, a few per pattern: compiling the plan (JIT, triggered by the
            # planner's estimate of the whole lateral join) costs more than running it.
            local = connection.in_atomic_block
            if local:
                cursor.execute("SET LOCAL jit = off")
            cursor.execute(sql, [window] if every else [window, list(pattern_ids or [])])
            fetched = cursor.fetchall()
            if local:
                cursor.execute("SET LOCAL jit TO DEFAULT")
        for pattern_id, score in fetched:
            scores.setdefault(pattern_id, []).append(float(score))
        return scores
    tickets = Pattern.tickets.rel.related_model._default_manager  # type: ignore[attr-defined]
    rows = tickets.filter(
        pattern__isnull=False, outcome__in=CONCLUDED_OUTCOMES, reliability_score__isnull=False
    )
    if pattern_ids is not None:
        rows = rows.filter(pattern_id__in=pattern_ids)
    ranked = rows.annotate(
        rank=Window(RowNumber(), partition_by=[F("pattern_id")], order_by=F("id").desc())
    ).filter(rank__lte=window)
    for pattern_id, score in ranked.order_by("pattern_id", "-id").values_list(
        "pattern_id", "reliability_score"
    ):
        scores.setdefault(pattern_id, []).append(float(score))
    return scores


def _refresh_derived(
    p: Pattern, recent: list[float] | None = None, *, scores_moved: bool = True
) -> None:
    """Recompute every rate and average from the counts and sums on the row.

    The average reliability is over the pattern's latest ``PATTERN_RELIABILITY_WINDOW``
    concluded tickets (``recent``: their scores, read here when not given), so it says how
    far the pattern's tickets are trusted now: the scores of its first tickets, taken
    before the category had any history, drop out as newer ones conclude, and a pattern
    whose scores fall loses the threshold as quickly. 0: over every concluded ticket; so
    too when none of its concluded tickets is left to read (deleted), from the sums kept.
    ``scores_moved`` False: no concluded ticket's score changed (a new occurrence, a
    feedback count, a flag), so the stored average stands and is not read again.
    """
    feedback_total = (
        p.positive_feedback_count + p.negative_feedback_count + p.neutral_feedback_count
    )
    p.positive_feedback_rate = _stored(p.positive_feedback_count, feedback_total)
    p.avg_confidence_score = _average(p.confidence_sum, p.occurrence_count)
    windowed = int(settings.PATTERN_RELIABILITY_WINDOW) > 0 and p.reliability_count > 0
    if not windowed:
        p.avg_reliability_score = _average(p.reliability_sum, p.reliability_count)
    elif recent is not None or scores_moved:
        if recent is None:
            recent = _recent_scores([p.pk]).get(p.pk, [])
        p.avg_reliability_score = (
            _average(sum(recent), len(recent))
            if recent
            else _average(p.reliability_sum, p.reliability_count)
        )
    p.auto_remediation_success_rate = _stored(
        p.auto_remediation_successes, p.auto_remediation_attempts
    )
    p.shadow_agreement_rate = _stored(
        p.shadow_agreement_count, p.shadow_agreement_count + p.shadow_disagreement_count
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
    "shadow_agreement_rate",
    "eligible_for_auto_remediation",
    "eligibility_changed_at",
]


# --- The one way a pattern's statistics change -------------------------------------------
#
# A change is a function that edits a pattern in memory and returns the fields it changed.
# ``pattern_update`` locks the row, applies every change given, refreshes the rates,
# settles eligibility, saves once and audits an eligibility flip. The change builders below
# are the only statistics there are.

PatternChange = Callable[[Pattern], list[str]]


def pattern_update(
    pattern: Pattern | int,
    *changes: PatternChange,
    ticket: Ticket | None = None,
    acting_user: User | None = None,
) -> EligibilityChange | None:
    """Lock the pattern's row, apply ``changes``, refresh rates and eligibility, save once.

    Runs inside the caller's transaction (its own when there is none). Given an instance, the
    caller's instance gets the new values too, so ``ticket.pattern`` stays current; given an
    id, only the locked read is made. An eligibility flip is written to the audit trail
    here (with ``ticket`` and ``acting_user`` as its context) and returned; no changes at
    all just settles eligibility against today's thresholds.
    """
    pk = pattern if isinstance(pattern, int) else pattern.pk
    # No savepoint of its own: a failure here fails the caller's whole event.
    with transaction.atomic(savepoint=False):
        locked = Pattern.objects.select_for_update().get(pk=pk)
        fields = [name for change in changes for name in change(locked)]
        _refresh_derived(
            locked, scores_moved=bool({"reliability_sum", "reliability_count"} & set(fields))
        )
        result = _settle_eligibility(locked, at=timezone.now())
        locked.save(update_fields=sorted(set(fields) | set(_DERIVED_FIELDS)))
        _audit_eligibility_change(result, ticket=ticket, acting_user=acting_user)
    if isinstance(pattern, Pattern):
        for field in Pattern._meta.concrete_fields:
            setattr(pattern, field.attname, getattr(locked, field.attname))
    return result


def occurrence_added(confidence: float, at: datetime) -> PatternChange:
    """One more analyzed ticket with this ``confidence``, seen ``at``."""

    def change(p: Pattern) -> list[str]:
        p.occurrence_count += 1
        p.confidence_sum = quantize(p.confidence_sum + quantize(confidence))
        if p.first_seen_at is None or at < p.first_seen_at:
            p.first_seen_at = at
        if p.last_seen_at is None or at > p.last_seen_at:
            p.last_seen_at = at
        return ["occurrence_count", "confidence_sum", "first_seen_at", "last_seen_at"]

    return change


def feedback_added(feedback_type: str) -> PatternChange:
    """One more trusted feedback of ``feedback_type`` (positive, negative or neutral)."""
    if feedback_type not in FEEDBACK_TYPES:
        raise ValueError(f"Unknown feedback type {feedback_type!r}")
    field = f"{feedback_type}_feedback_count"

    def change(p: Pattern) -> list[str]:
        setattr(p, field, getattr(p, field) + 1)
        return [field]

    return change


def outcome_moved(
    *, old: str, new: str, remediated: bool, score: float | None = None
) -> PatternChange:
    """A ticket of the pattern changed outcome from ``old`` to ``new``.

    ``remediated``: the ticket's actions were executed (``auto_remediation_executed``),
    automatically or after a person approved them. Its concluded outcome is then also a
    remediation attempt, successful or not: this is how executions count toward the
    pattern's remediation success rate, and what ``recompute_patterns`` counts.

    ``score``: the ticket's reliability score as it stands. The pattern's average
    reliability is over its concluded tickets (see ``reliability_moved``), so a ticket
    whose outcome becomes known brings its score in, and one that stops being concluded
    takes it out.
    """
    was, now = old in CONCLUDED_OUTCOMES, new in CONCLUDED_OUTCOMES

    def change(p: Pattern) -> list[str]:
        p.success_count += (new == OUTCOME_SUCCESS) - (old == OUTCOME_SUCCESS)
        p.failure_count += (new == OUTCOME_FAILURE) - (old == OUTCOME_FAILURE)
        if remediated:
            p.auto_remediation_attempts += now - was
            p.auto_remediation_successes += (new == OUTCOME_SUCCESS) - (old == OUTCOME_SUCCESS)
        if score is not None and was != now:
            reliability_moved(old=None if now else score, new=score if now else None)(p)
        return [
            "success_count",
            "failure_count",
            "auto_remediation_attempts",
            "auto_remediation_successes",
            "reliability_sum",
            "reliability_count",
        ]

    return change


def reliability_moved(*, old: float | None, new: float | None) -> PatternChange:
    """A concluded ticket of the pattern was (re)scored from ``old`` to ``new`` (None: not
    counted), or entered or left the average.

    The pattern's ``avg_reliability_score`` is the average score of its tickets whose
    outcome is known (success or failure): the tickets whose resolution has been checked.
    A ticket still open, or one nobody concluded, does not count; its score from before
    the pattern had any history (components with no data score 0) would otherwise hold
    the average down for good. The caller passes None for a ticket that is not concluded.
    """

    def change(p: Pattern) -> list[str]:
        if old is not None:
            p.reliability_sum = quantize(p.reliability_sum - quantize(old))
            p.reliability_count -= 1
        if new is not None:
            p.reliability_sum = quantize(p.reliability_sum + quantize(new))
            p.reliability_count += 1
        if p.reliability_count == 0:
            p.reliability_sum = 0.0
        return ["reliability_sum", "reliability_count"]

    return change


def agreement_moved(*, old: bool | None, new: bool | None) -> PatternChange:
    """A ticket of the pattern got a new shadow agreement verdict: ``new`` (True: the
    person did what the system proposed, False: something else, None: no verdict) replaces
    ``old``. One verdict per ticket, so a changed verdict moves one count to the other."""

    def change(p: Pattern) -> list[str]:
        p.shadow_agreement_count += (new is True) - (old is True)
        p.shadow_disagreement_count += (new is False) - (old is False)
        return ["shadow_agreement_count", "shadow_disagreement_count"]

    return change


def review_flagged(p: Pattern) -> list[str]:
    """Trusted feedback disagreed with a measured outcome of one of its tickets."""
    p.needs_review = True
    return ["needs_review"]


def review_cleared(p: Pattern) -> list[str]:
    """An admin reviewed the disagreement that flagged it; it may be eligible again."""
    p.needs_review = False
    return ["needs_review"]


def enabled_set(enabled: bool) -> PatternChange:
    """Switch the pattern on or off; a disabled pattern is never eligible."""

    def change(p: Pattern) -> list[str]:
        p.enabled = enabled
        return ["enabled"]

    return change


def rejection_counted(p: Pattern) -> list[str]:
    """An approver refused the actions proposed for a ticket of the pattern. Eligibility
    does not read it (what people refuse is kept from being proposed instead)."""
    p.rejection_count += 1
    return ["rejection_count"]


def _get_or_create_by_signature(sig: Signature) -> Pattern:
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


def ticket_signature(
    category: str, title: str, description: str, cause: tuple[str, str, str] | None
) -> Signature:
    """The signature of a ticket: its cause when established, else its words."""
    if cause is not None:
        found, kind, operation = cause
        return cause_signature(category, cause=found, kind=kind, operation=operation)
    return signature_for(category, title, description)


def pattern_observe(
    *,
    category: str,
    title: str,
    description: str,
    confidence: float,
    at: datetime | None = None,
    ticket: Ticket | None = None,
    cause: tuple[str, str, str] | None = None,
) -> Pattern:
    """Record one analyzed ticket on the pattern it belongs to (created if new): one more
    occurrence and its confidence; first/last seen move.

    ``cause`` is (cause, object kind, operation) when the diagnosis established a cause:
    the pattern is then keyed on it; otherwise on the ticket's words."""
    pattern = _get_or_create_by_signature(ticket_signature(category, title, description, cause))
    pattern_update(pattern, occurrence_added(confidence, at or timezone.now()), ticket=ticket)
    return pattern


def _audit_eligibility_change(
    change: EligibilityChange | None,
    *,
    ticket: Ticket | None = None,
    acting_user: User | None = None,
) -> None:
    """Write the audit event of a pattern eligibility flip (``None`` writes nothing).
    Must run inside the transaction that changed the pattern."""
    if change is None:
        return
    pattern = change.pattern
    verdict = "eligible" if change.eligible else "no longer eligible"
    audit(
        AuditAction.PATTERN_ELIGIBILITY_CHANGED,
        f"Pattern {pattern.signature} is {verdict} for auto-remediation: "
        + " ".join(change.reasons),
        ticket=ticket,
        pattern=pattern,
        acting_user=acting_user,
        details={
            "pattern": pattern.hash,
            "eligible": change.eligible,
            "reasons": change.reasons,
            "occurrence_count": pattern.occurrence_count,
            "positive_feedback_rate": pattern.positive_feedback_rate,
            "positive_outcome_rate": pattern.positive_outcome_rate,
            "avg_reliability_score": pattern.avg_reliability_score,
            "auto_remediation_attempts": pattern.auto_remediation_attempts,
            "auto_remediation_success_rate": pattern.auto_remediation_success_rate,
            "shadow_agreement_count": pattern.shadow_agreement_count,
            "shadow_disagreement_count": pattern.shadow_disagreement_count,
        },
    )


@dataclass(frozen=True)
class PatternTotals:
    """Everything a pattern's statistics derive from, counted from tickets, feedback and
    the shadow agreement verdicts."""

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
    shadow_agreement_count: int = 0
    shadow_disagreement_count: int = 0


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
    ``feedback.rebuild.services.patterns_recompute`` service takes the locks first, then counts).
    Returns the eligibility changes, each already audited; ``progress(rewritten, total)`` is
    called once, with the number of rows whose numbers were wrong and were rewritten.
    """
    changes: list[EligibilityChange] = []
    now = timezone.now()
    fields = _TOTAL_FIELDS + _DERIVED_FIELDS
    with transaction.atomic():
        patterns = list(Pattern.objects.select_for_update().order_by("id"))
        recent = _recent_scores() if int(settings.PATTERN_RELIABILITY_WINDOW) > 0 else {}
        stale: list[Pattern] = []
        for p in patterns:
            before = [getattr(p, name) for name in fields]
            t = totals.get(p.pk, PatternTotals())
            for name in _TOTAL_FIELDS:
                value = getattr(t, name)
                setattr(p, name, quantize(value) if isinstance(value, float) else value)
            _refresh_derived(p, recent.get(p.pk, []))
            change = _settle_eligibility(p, at=now)
            if change is not None:
                changes.append(change)
            # Rows that already hold the right numbers are not rewritten (no dead tuples,
            # no index churn): a recompute of a consistent table writes nothing.
            if [getattr(p, name) for name in fields] != before:
                stale.append(p)
        for start in range(0, len(stale), REBUILD_BATCH_SIZE):
            _update_from_values(stale[start : start + REBUILD_BATCH_SIZE], fields)
        for change in changes:
            _audit_eligibility_change(change)
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
