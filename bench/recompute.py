"""``recompute_patterns`` over the large history vs a hand-written SQL GROUP BY of the same
statistics, side by side in one run.

    python bench/recompute.py            # bench_large (bench/generate.py)

The GROUP BY reads what the recompute counts (per pattern: occurrences, confidence sum,
outcomes, reliability, executed attempts; feedback by type) and fetches it; the recompute
also locks the patterns, settles eligibility and writes every row. Alternates the two,
prints the medians and the ratio recompute/GROUP BY. Target: <= 2.
"""

from __future__ import annotations

import sys

import _common

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
DB = sys.argv[2] if len(sys.argv) > 2 else _common.LARGE_DB

GROUP_BY_TICKETS = """
SELECT pattern_id, count(*), sum(round(confidence_score::numeric, 6)),
       count(*) FILTER (WHERE outcome = 'success'), count(*) FILTER (WHERE outcome = 'failure'),
       sum(round(reliability_score::numeric, 6)), count(reliability_score),
       count(*) FILTER (WHERE auto_remediation_executed AND outcome IN ('success', 'failure')),
       count(*) FILTER (WHERE auto_remediation_executed AND outcome = 'success')
FROM remediation_ticket WHERE pattern_id IS NOT NULL GROUP BY pattern_id
"""
GROUP_BY_FEEDBACK = """
SELECT t.pattern_id, count(*) FILTER (WHERE f.feedback_type = 'positive'),
       count(*) FILTER (WHERE f.feedback_type = 'negative'),
       count(*) FILTER (WHERE f.feedback_type = 'neutral')
FROM feedback_feedback AS f JOIN remediation_ticket AS t ON t.id = f.ticket_id
WHERE t.pattern_id IS NOT NULL GROUP BY t.pattern_id
"""


def group_by() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in (GROUP_BY_TICKETS, GROUP_BY_FEEDBACK):
            cursor.execute(sql)
            cursor.fetchall()


def recompute() -> None:
    from feedback.rebuild.services import patterns_recompute

    # The pattern statistics alone: the calibration refit that `manage.py recompute_patterns`
    # runs after them (and the hourly schedule) is timed apart, below.
    patterns_recompute(refit_calibration=False)


def refit() -> None:
    from remediation.scoring.services import calibration_refit

    calibration_refit(trigger="benchmark")


def spoil() -> None:
    """Make every pattern's numbers wrong, so the next recompute rewrites every row."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE patterns_pattern SET occurrence_count = 0, avg_confidence_score = 0")


def main() -> int:
    _common.setup_django(DB)
    import time

    times: dict[str, list[float]] = {"group_by": [], "cold": [], "settled": [], "refit": []}
    group_by()
    recompute()
    for _ in range(ROUNDS):
        spoil()  # not timed
        steps = (("group_by", group_by), ("cold", recompute), ("settled", recompute))
        for name, fn in (*steps, ("refit", refit)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    gb = _common.median(times["group_by"])
    cold, settled = _common.median(times["cold"]), _common.median(times["settled"])
    print(
        f"{DB}: SQL GROUP BY {gb:.2f} s; recompute_patterns {cold:.2f} s rewriting every "
        f"pattern, {settled:.2f} s when the numbers were already right ({settled / gb:.2f}x); "
        f"then the calibration refit {_common.median(times['refit']):.2f} s (no target)"
    )
    return _common.verdict(
        "recompute (every row rewritten)/GROUP BY", cold / gb, "<= 2", cold / gb <= 2
    )


if __name__ == "__main__":
    sys.exit(main())
