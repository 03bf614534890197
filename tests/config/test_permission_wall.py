"""The permission wall: every URL pattern the project resolves is walked, and an anonymous
visitor and a logged-in user without any rights must be refused (401/403, or sent to a
login page). A new endpoint cannot slip through unguarded: it fails here until it is
guarded or deliberately listed below with the reason it is open."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from remediation.connectors import registry
from remediation.urls import TICKET
from tests.support.approvals import awaiting_ticket
from tests.support.doubles import LabDouble
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

# Open to everyone, on purpose (only /healthz, /metrics and the login page).
OPEN = {
    "healthz": "load balancers probe it",
    "metrics": "Prometheus scrapes it",
    "accounts/login/": "the login page",
    "accounts/logout/": "logging out needs no rights",
    "admin/login/": "the admin's login page",
    "admin/logout/": "logging out needs no rights",
    # Sign-in through the OpenID provider (404 until configured): the start sends the visitor
    # to the provider; the callback signs in only with a code the provider issued for the
    # state and nonce this session was given (tests/remediation/accounts/test_oidc_sign_in.py).
    "accounts/oidc/authenticate/": "starts sign-in at the OpenID provider",
    "accounts/oidc/callback/": "the OpenID provider's answer",
    # Slack cannot log in: each request is authenticated by Slack's signature instead, and
    # acts as the linked user (tests/remediation/approvals/slack/ refuses forged, stale,
    # replayed and unlinked ones).
    "integrations/slack/interactions": "Slack's signed requests (404 until configured)",
    "integrations/slack/commands": "Slack's signed commands (404 until configured)",
    "": "the root only leads on: to the inbox when logged in, else to the login page",
}
# Open to any logged-in user: what each of them may do for their own tickets.
ANY_USER = {
    "api/v1/tickets": "anyone authenticated submits and lists their own tickets",
    "api/v1/tickets/<str:ticket_id>": "their own tickets (others answer 404)",
    "api/v1/tickets/<str:ticket_id>/remediation-logs": "their own tickets (others 404)",
    "api/v1/feedback": "feedback on their own tickets (others 404)",
    "api/v1/alerts/alertmanager": "alerts become tickets of the caller, as POST tickets",
    "api/schema/": "the API's documentation: any logged-in user",
    "api/docs/": "the API's documentation: any logged-in user",
    "integrations/slack/link/<str:token>": "a one-time link binds its visitor's own account",
    "inbox/": "everyone's landing page: what they may act on (empty for a plain submitter)",
    "api/v1/inbox": "the same list as the inbox page: empty for a plain submitter",
}
LOGIN_PAGES = ("/accounts/login/", "/admin/login/")


def _route(pattern) -> str:
    # Ticket paths are regexes (remediation.urls.TICKET): name them as a route would.
    text = str(pattern).replace(TICKET, "<str:ticket_id>")
    if "<str:ticket_id>" in text:
        text = text.removeprefix("^").removesuffix("$")
    return text


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + _route(p.pattern)


def concrete(route: str, ticket_id: str) -> str:
    """A URL for ``route`` with every parameter filled in (existing objects where it matters)."""
    path = route.replace("<str:ticket_id>", ticket_id)
    path = re.sub(r"<(?:path:)?\w+>", "1", path)
    path = path.replace("^(?P<app_label>", "").split(")/$")[0].split("|")[0] + (
        "/" if "(?P<app_label>" in route else ""
    )
    path = re.sub(r"\(\?P<url>\.\*\)\$", "nothing-here/", path)
    return "/" + path.lstrip("^").rstrip("$")


def refused(response) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code == 302:
        return response["Location"].split("?")[0] in LOGIN_PAGES
    return False


@pytest.fixture
def lab():
    with registry.use(LabDouble()):
        yield


@pytest.fixture
def routes():
    return sorted(set(walk(get_resolver().url_patterns)))


def test_the_walk_sees_every_kind_of_route(routes):
    for expected in ("approvals/", "api/v1/tickets/<str:ticket_id>/approve-remediation", "admin/"):
        assert expected in routes


def test_anonymous_visitors_are_refused_everywhere_but_the_open_pages(routes, lab, user):
    ticket = awaiting_ticket(user)
    client = APIClient()
    leaks = []
    for route in routes:
        if route in OPEN:
            continue
        url = concrete(route, ticket.ticket_id)
        for method in ("get", "post"):
            r = getattr(client, method)(url)
            if not refused(r):
                leaks.append((method.upper(), url, r.status_code))
    assert leaks == [], leaks


def test_users_without_rights_are_refused_everywhere_but_their_own_things(routes, lab, user):
    ticket = awaiting_ticket(user)  # someone else's ticket
    client = APIClient()
    client.force_login(UserFactory(username="mallory"))
    leaks = []
    for route in routes:
        if route in OPEN or route in ANY_USER:
            continue
        url = concrete(route, ticket.ticket_id)
        for method in ("get", "post"):
            r = getattr(client, method)(url)
            if not refused(r):
                leaks.append((method.upper(), url, r.status_code))
    assert leaks == [], leaks


def test_their_own_things_do_not_show_them_anyone_elses(lab, user, client_for):
    ticket = awaiting_ticket(user)
    mallory = client_for(UserFactory(username="mallory"))
    assert mallory.get(f"/api/v1/tickets/{ticket.ticket_id}").status_code == 404
    assert mallory.get(f"/api/v1/tickets/{ticket.ticket_id}/remediation-logs").status_code == 404
    assert mallory.get("/api/v1/tickets").json()["results"] == []
