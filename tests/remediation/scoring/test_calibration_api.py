"""GET /api/v1/stats/calibration: the reliability score and the AI confidence against
outcomes, checked against figures computed by hand, its filters, refusals and its cost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from remediation.tickets.models import Ticket, TicketOutcome, TicketStatus
from tests.support.factories import TicketFactory

URL = "/api/v1/stats/calibration"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _may_read_patterns_and_stats(user):
    user.user_permissions.add(Permission.objects.get(codename="view_pattern_stats"))


def _fields(response) -> dict:
    return response.json()["error"].get("fields", {})


def _concluded(user, p, outcome, *, category, analyzer, reliability="same", age_days=0):
    """A concluded ticket whose reliability score was ``p`` x 100 and confidence ``p``."""
    ticket = TicketFactory(
        submitted_by=user,
        category=category,
        analyzer=analyzer,
        outcome=TicketOutcome.SUCCESS if outcome else TicketOutcome.FAILURE,
        confidence_score=p,
        reliability_score=p * 100 if reliability == "same" else reliability,
    )
    if age_days:
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=timezone.now() - timedelta(days=age_days)
        )
    return ticket


# The hand-computed case of tests/remediation/scoring/test_calibration.py, split over two
# categories and two analyzers. By hand:
#   network (anthropic): 0.0->0, 0.2->0, 0.25->1
#     bin 0: n1 mean 0 rate 0; bin 2: n2 mean 0.225 rate 0.5
#     ECE = 2/3 x 0.275 = 0.18333; Brier = (0 + 0.04 + 0.5625) / 3 = 0.200833
#   server (local): 0.7->1, 0.7->1, 0.75->1, 0.75->0, 0.9->1, 1.0->1, 0.95->1
#     bin 7: n4 mean 0.725 rate 0.75; bin 9: n3 mean 0.95 rate 1
#     ECE = 4/7 x 0.025 + 3/7 x 0.05 = 0.25/7 = 0.035714
#     Brier = (0.09 + 0.09 + 0.0625 + 0.5625 + 0.01 + 0 + 0.0025) / 7 = 0.8175/7 = 0.116786
#   all ten: ECE 0.08, Brier 0.142
NETWORK = [(0.0, 0), (0.2, 0), (0.25, 1)]
SERVER = [(0.7, 1), (0.7, 1), (0.75, 1), (0.75, 0), (0.9, 1), (1.0, 1), (0.95, 1)]


@pytest.fixture
def history(user):
    for p, y in NETWORK:
        _concluded(user, p, y, category="network", analyzer="anthropic")
    for p, y in SERVER:
        _concluded(user, p, y, category="server", analyzer="local")
    # Left out of both: not concluded, or never analyzed.
    TicketFactory(submitted_by=user, category="server", analyzer="local", confidence_score=0.9)
    TicketFactory(
        submitted_by=user,
        category="server",
        analyzer="local",
        status=TicketStatus.MANUAL_REVIEW,
        confidence_score=0.9,
        reliability_score=90.0,
    )
    _concluded(user, 0.9, 0, category="server", analyzer="")
    # Concluded and analyzed but never scored: the AI confidence only.
    _concluded(user, 0.5, 1, category="cache", analyzer="local", reliability=None)
    # Outside the default window of 365 days.
    _concluded(user, 0.1, 1, category="server", analyzer="local", age_days=400)


def _bins(report) -> dict[int, tuple]:
    return {
        k: (b["count"], b["mean_predicted"], b["observed_rate"])
        for k, b in enumerate(report["bins"])
        if b["count"]
    }


class TestFigures:
    def test_the_overall_figures_are_the_hand_computed_ones(self, api, history):
        r = api.get(URL)
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["days"] == 365
        assert body["since"] == (timezone.localdate() - timedelta(days=364)).isoformat()
        assert body["category"] is None and body["analyzer"] is None
        reliability = body["reliability"]
        assert (reliability["count"], reliability["ece"], reliability["brier"]) == (
            10,
            0.08,
            0.142,
        )
        assert _bins(reliability) == {
            0: (1, 0.0, 0.0),
            2: (2, 0.225, 0.5),
            7: (4, 0.725, 0.75),
            9: (3, 0.95, 1.0),
        }
        assert len(reliability["bins"]) == 10
        assert reliability["bins"][3] == {
            "lower": 0.3,
            "upper": 0.4,
            "count": 0,
            "mean_predicted": None,
            "observed_rate": None,
        }
        # The never-scored cache ticket counts for the AI confidence only.
        assert body["ai_confidence"]["count"] == 11
        assert _bins(body["ai_confidence"])[5] == (1, 0.5, 1.0)

    def test_the_score_checked_is_the_one_the_decision_saw(self, api, user):
        """Trusted feedback re-scores a ticket after its outcome; the prediction checked is
        the score when it was decided (a ticket decided before that was kept: its score)."""
        decided = _concluded(user, 0.2, 1, category="network", analyzer="local")
        Ticket.objects.filter(pk=decided.pk).update(decided_reliability_score=90.0)
        _concluded(user, 0.7, 0, category="network", analyzer="local")
        reliability = api.get(URL).json()["reliability"]
        # By hand: 0.9 -> success (bin 9), 0.7 -> failure (bin 7).
        # ECE = 1/2 x 0.1 + 1/2 x 0.7 = 0.4; Brier = (0.01 + 0.49) / 2 = 0.25.
        assert _bins(reliability) == {7: (1, 0.7, 0.0), 9: (1, 0.9, 1.0)}
        assert (reliability["ece"], reliability["brier"]) == (0.4, 0.25)

    def test_it_breaks_the_figures_down_by_category_and_analyzer(self, api, history):
        body = api.get(URL).json()
        by_category = {c["category"]: c for c in body["by_category"]}
        assert list(by_category) == ["cache", "network", "server"]
        for name, ece, brier, count in (
            ("network", 0.1833, 0.2008, 3),
            ("server", 0.0357, 0.1168, 7),
        ):
            for prediction in ("reliability", "ai_confidence"):
                report = by_category[name][prediction]
                assert (report["count"], report["ece"], report["brier"]) == (count, ece, brier)
        cache = by_category["cache"]
        assert cache["reliability"]["count"] == 0
        assert cache["reliability"]["ece"] is None
        assert cache["ai_confidence"]["count"] == 1
        # (0.5 - 1)^2 = 0.25, |0.5 - 1| = 0.5
        assert (cache["ai_confidence"]["ece"], cache["ai_confidence"]["brier"]) == (0.5, 0.25)

        by_analyzer = {a["analyzer"]: a for a in body["by_analyzer"]}
        assert list(by_analyzer) == ["anthropic", "local"]
        assert by_analyzer["anthropic"]["reliability"]["ece"] == 0.1833
        assert by_analyzer["local"]["reliability"]["count"] == 7
        assert by_analyzer["local"]["ai_confidence"]["count"] == 8

    def test_filters_narrow_every_figure(self, api, history):
        body = api.get(URL, {"category": "network"}).json()
        assert body["category"] == "network"
        assert (body["reliability"]["count"], body["reliability"]["ece"]) == (3, 0.1833)
        assert [c["category"] for c in body["by_category"]] == ["network"]
        assert [a["analyzer"] for a in body["by_analyzer"]] == ["anthropic"]

        body = api.get(URL, {"analyzer": "local"}).json()
        assert body["analyzer"] == "local"
        assert (body["reliability"]["count"], body["reliability"]["brier"]) == (7, 0.1168)
        assert [c["category"] for c in body["by_category"]] == ["cache", "server"]

        assert (
            api.get(URL, {"category": "server", "analyzer": "anthropic"}).json()["reliability"][
                "count"
            ]
            == 0
        )

    def test_a_wider_window_takes_in_older_tickets(self, api, history):
        assert api.get(URL, {"days": 500}).json()["reliability"]["count"] == 11
        assert api.get(URL, {"days": 1}).json()["reliability"]["count"] == 10

    def test_an_unknown_category_gives_empty_figures(self, api, history):
        r = api.get(URL, {"category": "nope"})
        assert r.status_code == 200
        body = r.json()
        for prediction in ("reliability", "ai_confidence"):
            assert body[prediction]["count"] == 0
            assert body[prediction]["ece"] is None
            assert body[prediction]["brier"] is None
            assert [b["count"] for b in body[prediction]["bins"]] == [0] * 10
        assert body["by_category"] == [] and body["by_analyzer"] == []

    def test_one_query_per_prediction_whatever_the_history(self, api, user, history):
        def ticket_queries() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert api.get(URL).status_code == 200
            return sum('FROM "remediation_ticket"' in q["sql"] for q in ctx.captured_queries)

        def all_queries() -> int:
            with CaptureQueriesContext(connection) as ctx:
                assert api.get(URL).status_code == 200
            return len(ctx.captured_queries)

        small = all_queries()
        assert ticket_queries() == 4  # one per prediction
        for i in range(40):
            _concluded(
                user,
                (i % 10) / 10,
                i % 3,
                category=f"cat{i % 8}",
                analyzer=("local", "anthropic", "other")[i % 3],
            )
        assert all_queries() == small
        assert ticket_queries() == 4  # one per prediction


class TestRefusals:
    @pytest.mark.parametrize(
        "days",
        ["abc", "0", "3651", "-1", "1e3", "30.0", " 30", "3\x000", "\x00", "9" * 5000, ""],
    )
    def test_a_bad_days_is_a_400_naming_it(self, api, history, days):
        r = api.get(URL, {"days": days})
        assert r.status_code == 400, r.content
        assert "days" in _fields(r)

    @pytest.mark.parametrize("field", ["category", "analyzer"])
    @pytest.mark.parametrize(
        "value",
        ["", " ", "bad name", "a\x00b", "\x00", "x" * 5000, "-lead", "a/b", "é", "a\nb"],
    )
    def test_a_bad_filter_is_a_400_naming_it(self, api, db, field, value):
        r = api.get(URL, {field: value})
        assert r.status_code == 400, r.content
        assert field in _fields(r)

    def test_both_bounds_of_days_are_accepted(self, api, db):
        assert api.get(URL, {"days": 1}).json()["days"] == 1
        assert api.get(URL, {"days": 3650}).json()["days"] == 3650

    def test_an_unknown_parameter_is_a_400_naming_it(self, api, db):
        r = api.get(URL, {"categroy": "server"})
        assert r.status_code == 400
        assert "categroy" in _fields(r)

    def test_anonymous_callers_get_401(self, anon, history):
        r = anon.get(URL)
        assert r.status_code == 401
        assert "reliability" not in r.json()

    def test_a_user_without_the_permission_gets_403(self, client_for, other_user, history):
        r = client_for(other_user).get(URL)
        assert r.status_code == 403
        assert "reliability" not in r.json()

    def test_it_is_in_the_openapi_document(self, api, db):
        schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
        operation = schema["paths"]["/api/v1/stats/calibration"]["get"]
        assert [p["name"] for p in operation["parameters"]] == ["analyzer", "category", "days"]
        assert {"200", "400", "401", "403"} <= set(operation["responses"])
