"""Signing in through a real OpenID provider, in a real browser.

The provider is npm's ``oidc-provider`` (pinned, installed unmodified by ``make
oidc-provider``; tests/support/oidc.py starts it with node): its discovery document, its
sign-in page, its token endpoint, its signed ID tokens and its userinfo are the real ones.
Headless Chromium goes from the login page's "Sign in with Example SSO" to the provider and
back; the groups the provider says decide what the person may do here, at every sign-in.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.shortcuts import resolve_url
from playwright.sync_api import Page, expect

from remediation.accounts.backends import forget_discovery
from remediation.accounts.models import OidcIdentity
from remediation.approvals.models import ApprovalRequest, ApprovalStatus
from remediation.audit.models import AuditAction, AuditEvent
from remediation.connectors import registry
from remediation.tickets.models import Ticket
from tests.support.approvals import awaiting_ticket
from tests.support.dbutil import ROOT
from tests.support.doubles import LabDouble
from tests.support.factories import UserFactory
from tests.support.oidc import OidcProvider, start_provider, stop_provider

pytestmark = [pytest.mark.web, pytest.mark.e2e]

ARTIFACTS = ROOT / "var" / "artifacts" / "approvals"
PASSWORD = "correct horse battery staple"  # tests.support.factories.UserFactory's


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    started = start_provider(
        tmp_path_factory.mktemp("oidc"), [f"{live_server.url}/accounts/oidc/callback/"]
    )
    yield started
    stop_provider(started)


@pytest.fixture
def sso(provider: OidcProvider, settings, seeded) -> OidcProvider:
    """This system pointed at the provider, with a clean slate of accounts there."""
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    forget_discovery()
    provider.accounts.clear()
    return provider


def sign_in(page: Page, base: str, login: str, *, start: str = "/accounts/login/") -> None:
    """From ``start`` (a page that needs a login, or the login page) through the provider's
    sign-in form and back."""
    page.goto(f"{base}{start}")
    button = page.get_by_role("link", name="Sign in with Example SSO")
    expect(button).to_be_visible()
    button.click()
    # The provider's own sign-in page.
    expect(page.locator("input[name=login]")).to_be_visible()
    assert page.url.startswith(django_settings.OIDC_ISSUER)
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password: the provider's development form")
    page.click("button[type=submit]")


def landing(base: str) -> str:
    return f"{base}{resolve_url(django_settings.LOGIN_REDIRECT_URL)}"


def waiting(ticket_id: str) -> Ticket:
    submitter = UserFactory(username=f"submitter-{ticket_id.lower()}")
    with registry.use(LabDouble()):
        return awaiting_ticket(
            submitter,
            ticket_id=ticket_id,
            title=f"Web service down on prod-web-01 ({ticket_id})",
            affected_system="prod-web-01",
        )


def user_of(provider: OidcProvider, login: str) -> User:
    return OidcIdentity.objects.get(issuer=provider.issuer, subject=login).user


def groups(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


@pytest.mark.django_db(transaction=True)
def test_an_approver_signs_in_through_the_provider_and_approves(sso, live_server, browser_page):
    sso.account("alice", groups=["sre-approvers", "some-other-team"])
    ticket = waiting("INC-SSO-1")
    page = browser_page

    sign_in(page, live_server.url, "alice")
    expect(page).to_have_url(landing(live_server.url))
    page.screenshot(path=str(ARTIFACTS / "sso-1-landed.png"), full_page=True)

    alice = user_of(sso, "alice")
    assert groups(alice) == {"Approvers"}
    # The session lasts OIDC_SESSION_SECONDS, so the groups are read again within it.
    key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    assert SessionStore(session_key=key).get("_session_expiry") == 8 * 3600
    assert alice.email == "alice@example.test"
    assert not alice.has_usable_password() and not alice.is_staff
    identity = f"oidc:{sso.issuer}#alice"
    signed_in = AuditEvent.objects.get(action=AuditAction.SIGNED_IN, actor=alice)
    assert signed_in.details["identity"] == identity
    assert signed_in.details["added"] == ["Approvers"]

    page.goto(f"{live_server.url}/approvals/requests/{ticket.ticket_id}/")
    page.fill("#id_comment", "Signed in through the provider; go ahead.")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".message.success")).to_contain_text("handed to execution")
    assert ApprovalRequest.objects.get(ticket=ticket).status == ApprovalStatus.APPROVED
    granted = AuditEvent.objects.get(action=AuditAction.APPROVAL_GRANTED, ticket=ticket)
    assert granted.actor == alice
    assert granted.details["actor_identity"] == identity


@pytest.mark.django_db(transaction=True)
def test_an_operator_signs_in_and_lands_on_a_page_they_may_use(sso, live_server, browser_page):
    sso.account("olga", groups=["sre-oncall"])
    page = browser_page

    sign_in(page, live_server.url, "olga", start="/reviews/")
    expect(page).to_have_url(f"{live_server.url}/reviews/")
    expect(page.locator("h1")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "sso-2-operator.png"), full_page=True)
    assert groups(user_of(sso, "olga")) == {"Operators"}
    # An operator reads and reviews; approving is not theirs.
    answer = page.goto(f"{live_server.url}/approvals/")
    assert answer is not None and answer.status == 403


@pytest.mark.django_db(transaction=True)
def test_taken_out_of_the_approvers_group_at_the_provider_loses_approval_at_next_sign_in(
    sso, live_server, browser_page
):
    sso.account("bob", groups=["sre-approvers"])
    ticket = waiting("INC-SSO-2")
    page = browser_page
    sign_in(page, live_server.url, "bob")
    expect(page).to_have_url(landing(live_server.url))
    assert groups(user_of(sso, "bob")) == {"Approvers"}

    # The provider's administrator moves bob to the on-call group; bob signs in again.
    sso.account("bob", groups=["sre-oncall"])
    page.context.clear_cookies()
    sign_in(page, live_server.url, "bob", start="/reviews/")
    expect(page).to_have_url(f"{live_server.url}/reviews/")

    bob = user_of(sso, "bob")
    assert groups(bob) == {"Operators"}
    answer = page.goto(f"{live_server.url}/approvals/requests/{ticket.ticket_id}/")
    assert answer is not None and answer.status == 403
    last = AuditEvent.objects.filter(action=AuditAction.SIGNED_IN, actor=bob).last()
    assert last is not None
    assert last.details["removed"] == ["Approvers"] and last.details["added"] == ["Operators"]
    assert User.objects.filter(oidc_identity__subject="bob").count() == 1


@pytest.mark.django_db(transaction=True)
def test_with_local_login_off_only_the_provider_signs_people_in(
    sso, live_server, browser_page, settings
):
    UserFactory(username="carol")  # a local account with a password
    sso.account("alice", groups=["sre-approvers"])
    page = browser_page

    # A login page opened while passwords were allowed, submitted after they were turned off.
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "carol")
    page.fill("#id_password", PASSWORD)
    settings.LOCAL_LOGIN_ENABLED = False
    with page.expect_response(f"{live_server.url}/accounts/login/") as posted:
        page.click("button[type=submit]")
    assert posted.value.status == 403
    expect(page.locator(".message.error")).to_contain_text("Password sign-in is turned off")
    assert "sessionid" not in {c["name"] for c in page.context.cookies()}

    # The page itself now offers only the provider.
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("link", name="Sign in with Example SSO")).to_be_visible()
    expect(page.locator("#id_password")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "sso-3-provider-only.png"), full_page=True)
    # The admin's login sends people to it.
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=%2Fadmin%2F")

    sign_in(page, live_server.url, "alice")
    expect(page).to_have_url(landing(live_server.url))
