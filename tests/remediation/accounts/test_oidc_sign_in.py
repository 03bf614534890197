"""Signing in through the OpenID provider: who is matched, which groups they get, what the
audit trail says, and the login pages with and without passwords.

The whole journey through a real provider is tests/web/test_oidc_sign_in.py; here the
service, the backend's handling of the verified claims, and the pages, without a browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from remediation.accounts.backends import OidcBackend, forget_discovery
from remediation.accounts.models import OidcIdentity
from remediation.accounts.rules import SignIn, identity_label
from remediation.accounts.services import api_token_create, oidc_sign_in
from remediation.audit.models import AuditAction, AuditEvent
from tests.support.dbutil import ROOT
from tests.support.factories import UserFactory

ISSUER = "https://idp.example"
CLIENT = "auto-remediation"
PASSWORD = "correct horse battery staple"  # tests.support.factories.UserFactory's


@pytest.fixture
def oidc(settings, seeded):
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = CLIENT
    settings.OIDC_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = "s3cret-for-tests"
    settings.OIDC_PROVIDER_NAME = "Example SSO"
    settings.OIDC_GROUP_MAP = {"sre-approvers": ("Approvers",), "sre-oncall": ("Operators",)}
    forget_discovery()
    return settings


def signing_in(sub: str, groups: frozenset[str] = frozenset(), email: str = "") -> SignIn:
    return SignIn(
        issuer=ISSUER,
        subject=sub,
        email=email or f"{sub}@example.test",
        name=sub.title(),
        idp_groups=tuple(sorted(groups)),
        groups=groups,
    )


def names(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


# --- Who is matched ---------------------------------------------------------------------


@pytest.mark.django_db
def test_people_are_matched_by_issuer_and_subject_never_by_email(oidc):
    local = UserFactory(username="alice", email="alice@example.test")
    first = oidc_sign_in(signing_in("00u1", email="alice@example.test"))
    assert first is not None and first.pk != local.pk  # the local alice is not taken over
    assert not first.has_usable_password() and not first.is_staff and not first.is_superuser

    again = oidc_sign_in(signing_in("00u1", email="renamed@example.test"))
    assert again is not None and again.pk == first.pk
    assert again.email == "renamed@example.test"

    other = oidc_sign_in(signing_in("00u2", email="renamed@example.test"))
    assert other is not None and other.pk != first.pk
    assert OidcIdentity.objects.count() == 2


@pytest.mark.django_db
def test_the_same_subject_at_another_issuer_is_another_person(oidc):
    one = oidc_sign_in(signing_in("00u1"))
    other = SignIn("https://other-idp.example", "00u1", "", "", (), frozenset())
    two = oidc_sign_in(other)
    assert one is not None and two is not None and one.pk != two.pk


# --- Groups, at every sign-in -------------------------------------------------------------


@pytest.mark.django_db
def test_groups_are_added_and_removed_at_every_sign_in(oidc):
    user = oidc_sign_in(signing_in("00u1", frozenset({"Approvers"})))
    assert user is not None and names(user) == {"Approvers"}

    # An administrator here adds Operators by hand, and another group of their own.
    user.groups.add(Group.objects.get(name="Operators"), Group.objects.create(name="Auditors"))
    user = oidc_sign_in(signing_in("00u1", frozenset()))
    assert user is not None
    # The provider is the source of Approvers and Operators; other groups are left alone.
    assert names(user) == {"Auditors"}
    event = AuditEvent.objects.filter(action=AuditAction.SIGNED_IN).last()
    assert event is not None
    assert event.details["removed"] == ["Approvers", "Operators"]
    assert event.details["added"] == []
    assert event.details["identity"] == "oidc:https://idp.example#00u1"

    user = oidc_sign_in(signing_in("00u1", frozenset({"Operators"})))
    assert user is not None and names(user) == {"Auditors", "Operators"}


@pytest.mark.django_db
def test_an_inactive_user_is_refused_and_it_is_recorded(oidc):
    user = oidc_sign_in(signing_in("00u1", frozenset({"Approvers"})))
    assert user is not None
    user.is_active = False
    user.save()
    assert oidc_sign_in(signing_in("00u1", frozenset({"Approvers"}))) is None
    refused = AuditEvent.objects.get(action=AuditAction.SIGN_IN_REFUSED)
    assert refused.details["reason"] == "inactive"


# --- The audit trail names the provider's subject ------------------------------------------


@pytest.mark.django_db
def test_what_such_a_user_does_is_audited_with_their_subject(oidc, settings):
    user = oidc_sign_in(signing_in("00u1", frozenset({"Approvers"})))
    assert user is not None
    api_token_create(user=user, name="laptop", acting_user=user)
    event = AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).last()
    assert event is not None and event.actor == user
    assert event.details["actor_identity"] == identity_label(ISSUER, "00u1")

    local = UserFactory(username="carol")
    api_token_create(user=local, name="laptop", acting_user=local)
    event = AuditEvent.objects.filter(action=AuditAction.CONFIG_CHANGED).last()
    assert event is not None and "actor_identity" not in event.details


# --- The backend refuses bad verified claims --------------------------------------------------


class _Userinfo(OidcBackend):
    """The backend with the provider's userinfo answer given (no HTTP)."""

    answer: dict[str, Any] = {}

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        return self.answer


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "userinfo", "reason"),
    [
        ({"iss": ISSUER, "aud": CLIENT, "exp": 2e9}, {}, "sub: missing"),
        ({"iss": ISSUER, "aud": CLIENT, "exp": 2e9, "sub": "a\x00b"}, {}, "sub: not printable"),
        ({"iss": ISSUER, "aud": CLIENT, "exp": 2e9, "sub": "x" * 10_000}, {}, "sub: longer"),
        ({"iss": "https://evil", "aud": CLIENT, "exp": 2e9, "sub": "u"}, {}, "iss:"),
        ({"iss": ISSUER, "aud": "other", "exp": 2e9, "sub": "u"}, {}, "aud:"),
        ({"iss": ISSUER, "aud": CLIENT, "exp": 2e9, "sub": "u"}, {"sub": "v"}, "sub: userinfo"),
    ],
)
def test_bad_claims_sign_nobody_in_and_are_recorded(oidc, payload, userinfo, reason):
    backend = _Userinfo()
    backend.answer = userinfo
    assert backend.get_or_create_user("access", "id-token", payload) is None
    assert OidcIdentity.objects.count() == 0
    refused = AuditEvent.objects.get(action=AuditAction.SIGN_IN_REFUSED)
    assert refused.details["reason"].startswith(reason)
    assert len(refused.message) < 300
    if payload.get("sub") == "u":
        assert refused.details["identity"] == "oidc:https://idp.example#u"
    else:
        assert refused.details["identity"] is None


@pytest.mark.django_db
def test_unknown_groups_give_nothing_through_the_backend(oidc):
    backend = _Userinfo()
    backend.answer = {"sub": "u1", "groups": ["finance", "sre-approvers\x00", "sre-oncall"]}
    user = backend.get_or_create_user(
        "access", "id-token", {"iss": ISSUER, "aud": CLIENT, "exp": 2e9, "sub": "u1"}
    )
    assert user is not None and names(user) == {"Operators"}


# --- The pages ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_provider_the_login_page_is_passwords_only(client: Client):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'id="id_password"' in page.content and b"Sign in with" not in page.content
    assert client.get("/accounts/oidc/authenticate/").status_code == 404
    assert client.get("/accounts/oidc/callback/?code=x&state=y").status_code == 404
    UserFactory(username="carol")
    answer = client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    assert answer.status_code == 302


@pytest.mark.django_db
def test_with_a_provider_the_login_page_offers_it_beside_passwords(oidc, client: Client):
    page = client.get("/accounts/login/?next=/reviews/")
    assert b"Sign in with Example SSO" in page.content
    assert b'href="/accounts/oidc/authenticate/?next=/reviews/"' in page.content
    assert b'id="id_password"' in page.content


@pytest.mark.django_db
def test_local_login_off_refuses_passwords_everywhere(oidc, client: Client):
    oidc.LOCAL_LOGIN_ENABLED = False
    UserFactory(username="carol", is_staff=True, is_superuser=True)
    page = client.get("/accounts/login/")
    assert b"Sign in with Example SSO" in page.content and b"id_password" not in page.content

    refused = client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    assert refused.status_code == 403
    assert b"Password sign-in is turned off" in refused.content
    assert "_auth_user_id" not in client.session

    admin = client.post("/admin/login/", {"username": "carol", "password": PASSWORD})
    assert admin.status_code == 403 and "_auth_user_id" not in client.session
    sent = client.get("/admin/login/?next=/admin/")
    assert sent.status_code == 302 and sent["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert client.login(username="carol", password=PASSWORD) is False


@pytest.mark.django_db
def test_turning_local_login_off_ends_password_sessions(oidc, client: Client):
    carol = UserFactory(username="carol", is_staff=True)
    assert client.login(username="carol", password=PASSWORD)
    assert client.get("/admin/").status_code == 200
    oidc.LOCAL_LOGIN_ENABLED = False
    assert client.get("/admin/").status_code == 302
    assert carol.pk  # the account stays; only password sign-in is gone


@pytest.mark.django_db
def test_a_provider_that_cannot_be_reached_sends_people_back_saying_so(oidc, client: Client):
    oidc.OIDC_ISSUER = "http://127.0.0.1:9"  # discard: nothing listens
    oidc.OIDC_TIMEOUT = 2
    forget_discovery()
    answer = client.get("/accounts/oidc/authenticate/")
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/?oidc=failed"
    page = client.get(answer["Location"])
    assert b"Signing in with Example SSO did not work" in page.content


@pytest.mark.django_db
def test_a_callback_the_session_did_not_start_is_refused_not_an_error(oidc, client: Client):
    answer = client.get("/accounts/oidc/callback/?code=abc&state=forged")
    assert answer.status_code == 302 and answer["Location"] == "/accounts/login/?oidc=failed"
    session = client.session
    session["oidc_states"] = {"real": {"nonce": "n", "code_verifier": None}}
    session.save()
    assert client.get("/accounts/oidc/callback/?code=abc&state=forged").status_code == 400
    error = client.get("/accounts/oidc/callback/?error=access_denied&state=real")
    assert error.status_code == 302 and "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_user_made_inactive_here_loses_the_session_the_provider_gave(oidc, client: Client):
    user = oidc_sign_in(signing_in("00u1", frozenset({"Approvers"})))
    assert user is not None
    client.force_login(user, backend="remediation.accounts.backends.OidcBackend")
    assert client.get("/approvals/").status_code == 200
    user.is_active = False
    user.save()
    answer = client.get("/approvals/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


# --- Start-up refuses a configuration that cannot work ------------------------------------

GOOD = {
    "OIDC_ISSUER": "https://idp.example",
    "OIDC_CLIENT_ID": CLIENT,
    "OIDC_CLIENT_SECRET": "s3cret-for-tests",
    "DEBUG": "false",
    "SECRET_KEY": "x" * 50,
}


def _start(**env: str) -> subprocess.CompletedProcess:
    child = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "LOCAL_LOGIN"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**child, **env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({**GOOD, "OIDC_CLIENT_SECRET": ""}, "OIDC_CLIENT_SECRET"),
        ({**GOOD, "OIDC_ISSUER": "http://idp.example"}, "OIDC_ISSUER"),
        ({**GOOD, "OIDC_ISSUER": "idp.example"}, "OIDC_ISSUER"),
        ({**GOOD, "OIDC_SCOPES": "email groups"}, "OIDC_SCOPES"),
        ({**GOOD, "OIDC_GROUP_MAP": "sre=Administrators"}, "OIDC_GROUP_MAP"),
        ({**GOOD, "OIDC_GROUP_MAP": "Approvers"}, "OIDC_GROUP_MAP"),
        ({**GOOD, "OIDC_SESSION_SECONDS": "-1"}, "OIDC_SESSION_SECONDS"),
        ({"LOCAL_LOGIN_ENABLED": "false", "DEBUG": "true"}, "LOCAL_LOGIN_ENABLED"),
        ({**GOOD, "LOCAL_LOGIN_ENABLED": "sometimes"}, "LOCAL_LOGIN_ENABLED"),
    ],
)
def test_a_sign_in_configuration_that_cannot_work_stops_start_up(env, named):
    result = _start(**env)
    assert result.returncode != 0 and "started" not in result.stdout
    assert named in result.stderr


def test_a_provider_with_passwords_off_starts():
    result = _start(
        **GOOD, LOCAL_LOGIN_ENABLED="false", OIDC_GROUP_MAP="a=Approvers,b=Operators,a=Operators"
    )
    assert result.returncode == 0, result.stderr
