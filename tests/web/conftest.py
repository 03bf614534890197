"""Fixtures of the browser tests: Debian's headless Chromium driven by Playwright, and a real
``qcluster`` worker beside the live server."""

from __future__ import annotations

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

from tests.support.dbutil import ROOT, start_manage, stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "var" / "artifacts" / "approvals"


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API keeps an event loop on this thread; the ORM calls the test makes
    # between browser steps are plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # Playwright's sync API runs the test in a greenlet with its own context, where
            # Django opens a connection of its own: close it, or it outlives the test
            # database.
            connections.close_all()


@pytest.fixture
def worker(tmp_path):
    proc = start_manage("qcluster", log=tmp_path / "qcluster.log")
    yield proc
    stop(proc)
