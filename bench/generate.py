"""Generate benchmark history with bulk SQL: patterns, tickets, feedback, the daily rollups
and the calibration rollup, each one ``INSERT … SELECT …`` (no ORM row by row).

    python bench/generate.py --db bench_large --tickets 1000000 --patterns 1000

The database is dropped and re-created (only names starting with ``bench_``), migrated,
filled, analysed, and the pattern statistics are settled with ``recompute_patterns``.
"""

from __future__ import annotations

import argparse
import time

import _common

CATEGORIES = ["server", "network", "storage", "cache", "database"]
BENCH_USER = "bench"

PATTERNS_SQL = """
INSERT INTO patterns_pattern (
    id, hash, category, key_terms, signature, occurrence_count, success_count, failure_count,
    positive_feedback_count, negative_feedback_count, neutral_feedback_count,
    positive_feedback_rate, confidence_sum, avg_confidence_score, reliability_sum,
    reliability_count, avg_reliability_score, auto_remediation_attempts,
    auto_remediation_successes, auto_remediation_success_rate,
    eligible_for_auto_remediation, enabled, needs_review, rejection_count, first_seen_at,
    last_seen_at)
SELECT i, md5(i::text) || md5((i + 1)::text), (%(cats)s::text[])[1 + i %% 5],
       jsonb_build_array('term' || i, 'down'),
       (%(cats)s::text[])[1 + i %% 5] || '|down,term' || i,
       0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, true, false, 0, now(), now()
FROM generate_series(1, %(patterns)s) AS i
"""

# Ticket i belongs to pattern 1 + i %% P and to that pattern's category; statuses, outcomes,
# scores and execution vary deterministically with i; one ticket every 30 s, newest last.
TICKETS_SQL = """
INSERT INTO remediation_ticket (
    ticket_id, title, description, category, affected_system, severity, source, status,
    status_reason, outcome, analyzer, resolution, suggested_actions, dropped_actions,
    confidence_score, analyzed_at, reliability_score, reliability_breakdown, pattern_id,
    auto_remediation_enabled, auto_remediation_executed, remediation_decision, decision_mode,
    decision_policy, remediation_started_at, remediation_results, submitted_by_id,
    created_at, updated_at, resolved_at, decision_facts, needs_review, repeat_count,
    fix_held_by)
SELECT 'BENCH-' || i, 'Service down on host-' || (i %% 997),
       'The web service on host-' || (i %% 997) || ' is not responding.',
       (%(cats)s::text[])[1 + (1 + i %% %(patterns)s) %% 5], 'host-' || (i %% 997), 'medium',
       'bench', s.status, 'generated', s.outcome, 'local', 'Restart the service.',
       '[{"action": "Restart", "system": "host-1", "operation": "restart_service",
          "platform": "vmware", "params": {}, "action_type": "safe_write",
          "rollback": "none needed"}]'::jsonb,
       '[]'::jsonb, ((i::bigint * 7919) %% 1000) / 1000.0, t.at,
       50 + ((i::bigint * 104729) %% 5000) / 100.0, NULL, 1 + i %% %(patterns)s,
       i %% 2 = 0,
       -- executed: as the lifecycle's check constraint allows for each status
       s.status = 'partially_remediated' OR (s.status IN ('resolved', 'failed') AND i %% 3 = 0),
       NULL, 'enforce', '', NULL, NULL,
       %(user)s, t.at, t.at, CASE WHEN s.outcome = 'success' THEN t.at END, NULL, false, 0,
       ''
FROM generate_series(1, %(tickets)s) AS i,
     LATERAL (SELECT now() - (%(tickets)s - i) * interval '30 seconds' AS at) AS t,
     LATERAL (SELECT (ARRAY['resolved', 'analyzed', 'awaiting_approval', 'resolved',
                            'failed', 'manual_review', 'resolved', 'partially_remediated'])
                     [1 + (i * 7) %% 8] AS status) AS st,
     LATERAL (SELECT st.status,
                     CASE st.status WHEN 'resolved' THEN 'success'
                                    WHEN 'failed' THEN 'failure'
                                    WHEN 'partially_remediated' THEN 'failure'
                                    ELSE 'unknown' END AS outcome) AS s
"""

FEEDBACK_SQL = """
INSERT INTO feedback_feedback (
    ticket_id, user_id, feedback_type, rating, was_helpful, resolution_accurate,
    actions_worked, comment, what_worked, what_didnt_work, suggestions, actual_resolution,
    actual_actions_taken, time_to_resolve, created_at, trusted, disagrees)
SELECT t.id, %(user)s,
       (ARRAY['positive', 'positive', 'positive', 'negative', 'neutral'])[1 + t.id %% 5],
       1 + t.id %% 5, NULL, NULL, NULL, '', '', '', '', '', '[]'::jsonb, NULL, t.created_at,
       true, false
FROM remediation_ticket AS t WHERE t.id %% 3 = 0
"""

ROLLUP_SQL = """
INSERT INTO remediation_categorydailystats (
    category, day, tickets, success_count, failure_count, feedback_count, positive_count,
    negative_count, neutral_count, rating_sum, confidence_sum, reliability_sum,
    reliability_count, investigations, investigations_failed, investigation_calls,
    investigation_call_errors, investigation_seconds_sum)
SELECT t.category, (t.created_at AT TIME ZONE 'UTC')::date, count(*),
       count(*) FILTER (WHERE t.outcome = 'success'),
       count(*) FILTER (WHERE t.outcome = 'failure'),
       count(f.id), count(f.id) FILTER (WHERE f.feedback_type = 'positive'),
       count(f.id) FILTER (WHERE f.feedback_type = 'negative'),
       count(f.id) FILTER (WHERE f.feedback_type = 'neutral'),
       coalesce(sum(f.rating), 0), sum(t.confidence_score), sum(t.reliability_score),
       count(t.reliability_score), 0, 0, 0, 0, 0
FROM remediation_ticket AS t LEFT JOIN feedback_feedback AS f ON f.ticket_id = t.id
GROUP BY 1, 2
"""


def calibration_sql() -> str:
    """The calibration rollup (concluded, analyzed tickets by category, day and confidence
    bin), binned with the same edges as ``remediation.rules.bin_index``."""
    from remediation.rules import CALIBRATION_BINS, bin_edges

    edges = bin_edges(CALIBRATION_BINS)
    cases = " ".join(
        f"WHEN t.confidence_score < {edges[k]!r}::float8 THEN {k - 1}"
        for k in range(1, CALIBRATION_BINS)
    )
    return f"""
INSERT INTO remediation_calibrationdailystats (category, day, bin, outcomes, successes)
SELECT t.category, (t.created_at AT TIME ZONE 'UTC')::date,
       CASE {cases} ELSE {CALIBRATION_BINS - 1} END, count(*),
       count(*) FILTER (WHERE t.outcome = 'success')
FROM remediation_ticket AS t
WHERE t.outcome IN ('success', 'failure') AND t.analyzer <> ''
GROUP BY 1, 2, 3
"""


def generate(db: str, tickets: int, patterns: int) -> None:
    _common.recreate_database(db)
    _common.setup_django(db)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from feedback.rebuild.services import patterns_recompute

    call_command("migrate", verbosity=0)
    # Each benchmark makes its own API token for this user (keys are stored hashed).
    user = get_user_model().objects.create_user(BENCH_USER, is_staff=True)
    params = {"cats": CATEGORIES, "patterns": patterns, "tickets": tickets, "user": user.pk}
    steps = [
        ("patterns", PATTERNS_SQL),
        ("tickets", TICKETS_SQL),
        ("feedback", FEEDBACK_SQL),
        ("daily rollups", ROLLUP_SQL),
        ("calibration rollup", calibration_sql()),
    ]
    with connection.cursor() as cursor:
        for label, sql in steps:
            start = time.perf_counter()
            cursor.execute(sql, params)
            print(f"  {label}: {cursor.rowcount} rows in {time.perf_counter() - start:.1f}s")
        if patterns:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('patterns_pattern', 'id'), %s)", [patterns]
            )
        cursor.execute("ANALYZE")
    start = time.perf_counter()
    patterns_recompute()
    print(f"  pattern statistics settled in {time.perf_counter() - start:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database name, bench_*")
    parser.add_argument("--tickets", type=int, required=True)
    parser.add_argument("--patterns", type=int, default=_common.PATTERNS)
    args = parser.parse_args()
    _common.db_url(args.db)
    print(f"Generating {args.tickets} tickets, {args.patterns} patterns into {args.db}")
    generate(args.db, args.tickets, args.patterns)


if __name__ == "__main__":
    main()
