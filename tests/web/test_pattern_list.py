"""The patterns list in the admin, in Chromium at 1280 px: the eligibility and why a pattern
is not eligible are in view without scrolling sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.factories import PatternFactory, UserFactory
from tests.web.conftest import ARTIFACTS
from tests.web.test_approval_pages import PASSWORD

pytestmark = [pytest.mark.web, pytest.mark.e2e]


@pytest.mark.django_db(transaction=True)
def test_the_patterns_list_shows_eligibility_and_why_not_at_1280(live_server, browser_page):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    PatternFactory(
        category="server",
        signature="server|" + ",".join(f"term{i}" for i in range(12)),
        occurrence_count=2,
    )
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/patterns/pattern/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    why = page.locator("td.field-why_not_eligible").first
    expect(why).to_contain_text("Seen 2 times, needs 5.")
    page.screenshot(path=str(ARTIFACTS.parent / "patterns-1280.png"), full_page=True)
    # Nothing scrolls sideways: not the page, not the results table's own box.
    results = page.locator("#changelist-form .results")
    right = results.evaluate("e => e.getBoundingClientRect().right")
    for column in ("eligible", "why_not_eligible"):
        box = page.locator(f"th.column-{column}").bounding_box()
        assert box is not None and box["x"] + box["width"] <= min(right, 1280), (column, box)
    assert results.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
