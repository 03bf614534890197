"""The calibration page, /stats/calibration/: who may see it, and what it draws."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from remediation.tickets.models import TicketOutcome
from tests.support.factories import TicketFactory, UserFactory

URL = "/stats/calibration/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(db):
    u = UserFactory(username="rita")
    u.user_permissions.add(Permission.objects.get(codename="view_pattern_stats"))
    return u


@pytest.fixture
def history(user):
    for p, success, category, analyzer in (
        (0.25, True, "network", "anthropic"),
        (0.2, False, "network", "anthropic"),
        (0.75, True, "server", "local"),
        (0.75, False, "server", "local"),
        (0.95, True, "server", "local"),
    ):
        TicketFactory(
            submitted_by=user,
            category=category,
            analyzer=analyzer,
            outcome=TicketOutcome.SUCCESS if success else TicketOutcome.FAILURE,
            confidence_score=p,
            reliability_score=p * 100,
        )


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    r = client.get(URL)
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/?next=")


def test_a_user_without_the_permission_is_refused(client, history):
    client.force_login(UserFactory(username="mallory"))
    r = client.get(URL)
    assert r.status_code == 403
    assert b"<svg" not in r.content
    assert b"server" not in r.content


def test_a_permitted_user_sees_the_diagram_and_the_tables(client, reader, history):
    client.force_login(reader)
    r = client.get(URL)
    assert r.status_code == 200
    html = r.content.decode()
    assert '<svg class="reliability-diagram"' in html
    # Drawn on the server: a point per non-empty bin and series (3 bins x 2 series), the
    # diagonal, no script and nothing fetched from elsewhere.
    assert html.count('<circle class="point" cx=') == 6
    assert 'class="diagonal"' in html
    assert "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    # The tables: bins of the three predictions (the score, its calibrated probability, the
    # AI confidence), ECE and Brier per category and per analyzer.
    assert html.count("<table") == 6
    assert "Calibrated probability" in html
    assert 'class="queue by-category"' in html and 'class="queue by-analyzer"' in html
    for name in ("network", "server", "anthropic", "local"):
        assert f">{name}</td>" in html
    # server by hand: bin 7 (0.75->1, 0.75->0) and bin 9 (0.95->1), mean 0.75 / 0.95,
    # rate 0.5 / 1: ECE = 2/3 x 0.25 + 1/3 x 0.05 = 0.1833; Brier = (0.0625 + 0.5625 +
    # 0.0025) / 3 = 0.2092
    assert "0.1833" in html and "0.2092" in html
    # The navigation shows the page to those who may see it.
    assert 'href="/stats/calibration/"' in html


def test_filters_narrow_the_page(client, reader, history):
    client.force_login(reader)
    html = client.get(URL, {"category": "network"}).content.decode()
    assert html.count('<circle class="point" cx=') == 2
    assert ">server</td>" not in html


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": "0"}, "days"),
        ({"category": "a\x00b"}, "category"),
        ({"analyzer": "x" * 999}, "analyzer"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(client, reader, history, params, field):
    client.force_login(reader)
    r = client.get(URL, params)
    assert r.status_code == 400
    assert f"<li>{field}:" in r.content.decode()


def test_an_empty_history_draws_an_empty_diagram(client, reader):
    client.force_login(reader)
    r = client.get(URL)
    assert r.status_code == 200
    html = r.content.decode()
    assert '<svg class="reliability-diagram"' in html
    assert '<circle class="point" cx=' not in html
    assert "No concluded ticket in this window." in html
