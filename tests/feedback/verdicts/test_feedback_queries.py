"""A feedback POST costs a fixed, small number of queries, with one pattern write."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.factories import analyzed_ticket

URL = "/api/v1/feedback"
BODY = {
    "ticket_id": "INC-Q-1",
    "feedback_type": "positive",
    "rating": 5,
    "resolution_accurate": True,
    "actions_worked": True,
}
# Authentication and permission (token, user permissions, group permissions), the locked
# ticket, the feedback row, audit events (each reads and locks its stream's anchor, inserts
# the row, then moves the anchor: the anchor's write is what lets verify_audit see rows cut
# off the end of a stream, one query per event), the rollup row, the status transition,
# the pattern (one locked read, the scores of its latest concluded tickets for its average
# reliability, one write), the score's two rollup reads, its calibration
# aggregate (the AI factor's history, docs/reliability.md, read from its daily rollup) and
# its write, the calibration rollup kept with the outcome (the old bin's row, the new one's
# insert-if-missing and update: 3), the stored calibration fit (one indexed read), the
# ticket's shadow agreement (its row read and written), the teams (does one own the ticket:
# one read; the caller's own teams are read only when one does). On
# PostgreSQL the first event of a stream that has no anchor yet also takes a
# transaction-scoped advisory lock: not counted here, so the numbers hold on both
# databases. Trusted: 5 audit events; untrusted: 1.
# On PostgreSQL the pattern's latest scores are one lateral join with JIT switched off around
# it (SET LOCAL jit, twice): patterns.services._recent_scores.
TRUSTED_QUERIES = 43 + (2 if connection.vendor == "postgresql" else 0)
UNTRUSTED_QUERIES = 13


def _counted(ctx):
    return [q for q in ctx.captured_queries if "pg_advisory_xact_lock" not in q["sql"]]


def _pattern_writes(ctx):
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("UPDATE") and '"patterns_pattern"' in q["sql"]
    ]


@pytest.mark.django_db
def test_a_trusted_feedback_that_resolves_a_ticket_takes_a_fixed_number_of_queries(
    user, teacher_api, restart_runbook
):
    analyzed_ticket(user, "INC-Q-1", title="Service down on prod-web-01", description="Down.")
    with CaptureQueriesContext(connection) as ctx:
        response = teacher_api.post(URL, BODY, format="json")
    assert response.status_code == 201
    assert response.json()["ticket_outcome"] == "success"
    assert len(_pattern_writes(ctx)) == 1
    reads = [q for q in ctx.captured_queries if 'FROM "patterns_pattern"' in q["sql"]]
    assert len(reads) == 1  # the one locked read
    assert len(_counted(ctx)) == TRUSTED_QUERIES, "\n".join(
        q["sql"][:120] for q in ctx.captured_queries
    )


@pytest.mark.django_db
def test_an_untrusted_feedback_is_stored_in_a_few_queries(user, api, restart_runbook):
    analyzed_ticket(user, "INC-Q-1", title="Service down on prod-web-01", description="Down.")
    with CaptureQueriesContext(connection) as ctx:
        response = api.post(URL, BODY, format="json")
    assert response.status_code == 201
    assert _pattern_writes(ctx) == []
    assert len(_counted(ctx)) == UNTRUSTED_QUERIES, "\n".join(
        q["sql"][:120] for q in ctx.captured_queries
    )
