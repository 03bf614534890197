"""The one ``ratio`` and the two success rates, shared by every app (pure: no Django).

"No data" has one spelling everywhere: ``None`` (JSON ``null`` in the API, "no data" on the
pages, an absent series on the dashboard), never 0 %. A share with nothing to divide by is
``None``; so is a mean over nothing.

Two successes, two names, one definition each:

* **execution success rate**: of the executions that concluded (succeeded, rolled back or
  failed), the share that succeeded: the actions ran and passed their post-checks. By
  execution state; an unknown outcome is not concluded until a person reconciles it, a
  refused one never ran. Read from ``Execution.state`` (``remediation.execution.rates``).
* **outcome success rate**: of the tickets an execution acted on whose outcome concluded
  (success or failure), the share whose outcome is success: the fix held. A measured fix
  that comes back within ``OUTCOME_HOLD_SECONDS`` moves to failure
  (``remediation.tickets.outcomes``), so it counts as a failure here, although its
  execution succeeded; a fix still within its hold counts as a success until it comes
  back. Read from ``Ticket.outcome`` of executed tickets, and the same way per pattern
  (``Pattern.outcome_success_rate``).

This module sits under every app (patterns and policies may import it, as the audit trail),
so each number is computed by these functions and nothing else.
"""

from __future__ import annotations

from decimal import Decimal
from numbers import Real

RATE_DECIMALS = 4
MEAN_DECIMALS = 2

NO_DATA = "no data"  # how a page writes None


def _number(name: str, value: object) -> float:
    # bool is an int to Python, never a count here; Decimal is what a database sum can be.
    if isinstance(value, bool) or not isinstance(value, Real | Decimal):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    return float(value)


def ratio(part: float, whole: float, decimals: int | None = RATE_DECIMALS) -> float | None:
    """``part / whole``, a share between 0 and 1 rounded to ``decimals`` (None: unrounded, for
    a rate compared with a threshold); ``None`` when ``whole`` is 0 (no data). A part below
    0 or above the whole is a counting error and raises ``ValueError`` rather than show a
    share outside 0-1."""
    p, w = _number("part", part), _number("whole", whole)
    if p < 0 or w < 0:
        raise ValueError(f"a share of negative counts ({part}/{whole})")
    if w == 0:
        return None
    if p > w:
        raise ValueError(f"a part larger than its whole ({part}/{whole})")
    return p / w if decimals is None else round(p / w, decimals)


def mean(total: float, count: float, decimals: int = MEAN_DECIMALS) -> float | None:
    """``total / count`` rounded to ``decimals``; ``None`` over nothing (``count`` 0)."""
    t, n = _number("total", total), _number("count", count)
    if n < 0:
        raise ValueError(f"a mean over a negative count ({count})")
    return round(t / n, decimals) if n else None


def execution_success_rate(succeeded: int, rolled_back: int, failed: int) -> float | None:
    """Executions: succeeded / (succeeded + rolled back + failed)."""
    return ratio(succeeded, succeeded + rolled_back + failed)


def rollback_rate(succeeded: int, rolled_back: int, failed: int) -> float | None:
    """Executions: rolled back / (succeeded + rolled back + failed)."""
    return ratio(rolled_back, succeeded + rolled_back + failed)


def outcome_success_rate(succeeded: int, failed: int) -> float | None:
    """Executed tickets: outcome success / (outcome success + outcome failure)."""
    return ratio(succeeded, succeeded + failed)


def percent(rate: float | None) -> str:
    """A rate as a page writes it: "67%", or "no data"."""
    return NO_DATA if rate is None else f"{rate * 100:.0f}%"


# Calibration bins: predictions in equal-width bins over [0, 1]; bin k holds
# k/10 <= p < (k+1)/10, the last one takes 1.0 too. Here, under every app, because the
# tickets' calibration rollup bins a ticket's confidence as the scoring reads it.
CALIBRATION_BINS = 10


def bin_edges(bins: int = CALIBRATION_BINS) -> tuple[float, ...]:
    """The ``bins + 1`` edges of equal-width bins over [0, 1]: 0.0, 0.1, ..., 1.0."""
    return tuple(k / bins for k in range(bins + 1))


def bin_bounds(index: int, bins: int = CALIBRATION_BINS) -> tuple[float, float]:
    edges = bin_edges(bins)
    return edges[index], edges[index + 1]


def bin_index(p: float, bins: int = CALIBRATION_BINS) -> int:
    """The bin of ``p``: the k with edge[k] <= p < edge[k+1], by comparison with the same
    edges a database query uses (no floor of p * bins, which rounds differently). Below 0
    is bin 0, 1.0 and above the last bin."""
    edges = bin_edges(bins)
    for k in range(1, bins):
        if p < edges[k]:
            return k - 1
    return bins - 1
