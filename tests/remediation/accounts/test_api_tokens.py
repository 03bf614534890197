"""API tokens are stored hashed, named, and expire; every bad token or header is a JSON 401.

Driven through the public interfaces: the ``create_token`` command, the admin, the
services, and requests to the API with ``Authorization: Token <key>``.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from remediation.accounts.models import ApiToken
from remediation.accounts.services import api_token_create, api_token_revoke
from remediation.audit.models import AuditAction, AuditEvent
from tests.support.dbutil import ROOT
from tests.support.factories import TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets"


def _get(key_or_header: str, *, raw: bool = False):
    client = APIClient()
    header = key_or_header if raw else f"Token {key_or_header}"
    client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(URL)


def _assert_refused(response, code: str = "authentication_failed") -> None:
    assert response.status_code == 401, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert response["WWW-Authenticate"] == "Token"


def _create_token(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


# --- what the database holds -------------------------------------------------------------


def test_the_printed_key_works_and_the_row_holds_no_usable_key():
    user = UserFactory(username="alertmanager")
    key, note = _create_token("alertmanager", "--name", "alertmanager")

    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert _get(key).status_code == 200
    token = ApiToken.objects.get()
    assert token.user == user
    assert token.name == "alertmanager"
    assert token.token_key == key[:15]
    assert f"{token.token_key}…" in note and key not in note
    # No column holds the key; neither the digest nor the prefix opens the API.
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(key not in str(value) for value in row.values())
    assert token.digest != key
    _assert_refused(_get(token.digest))
    _assert_refused(_get(token.token_key))
    _assert_refused(_get(key[:-1]))
    _assert_refused(_get(key.upper()))


def test_the_key_is_audited_by_its_prefix_only():
    UserFactory(username="alertmanager")
    key, _ = _create_token("alertmanager", "--name", "alertmanager")
    token = ApiToken.objects.get()

    event = AuditEvent.objects.get(action=AuditAction.CONFIG_CHANGED)
    assert event.details["model"] == "remediation.ApiToken"
    assert event.details["verb"] == "added"
    assert event.details["object_id"] == token.token_key
    text = f"{event.message} {event.details}"
    assert key not in text and token.digest not in text


def test_each_token_works_alone_and_a_revoked_one_is_refused():
    user = UserFactory(username="integration")
    first, first_key = api_token_create(user=user, name="alertmanager")
    _, second_key = api_token_create(user=user, name="ci")

    api_token_revoke(first)

    _assert_refused(_get(first_key))
    assert _get(second_key).status_code == 200
    assert not ApiToken.objects.filter(pk=first.pk).exists()
    assert AuditEvent.objects.filter(
        action=AuditAction.CONFIG_CHANGED, details__verb="deleted"
    ).exists()


def test_a_token_of_an_inactive_user_is_refused():
    user = UserFactory(username="gone")
    _, key = api_token_create(user=user, name="ci")
    user.is_active = False
    user.save()
    _assert_refused(_get(key))


# --- expiry ------------------------------------------------------------------------------


def test_an_expired_token_is_refused_with_its_own_code_and_kept_for_the_admin():
    _, key = api_token_create(user=UserFactory(), name="ci", days=1)
    assert _get(key).status_code == 200

    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = _get(key)

    _assert_refused(response, code="token_expired")
    assert "expired" in response.json()["error"]["message"]
    assert ApiToken.objects.count() == 1


def test_the_lifetime_comes_from_the_setting_and_zero_means_never(settings):
    user = UserFactory()
    settings.API_TOKEN_TTL_DAYS = 30
    default, _ = api_token_create(user=user, name="default")
    assert default.expiry is not None
    assert abs(default.expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)

    settings.API_TOKEN_TTL_DAYS = 0
    forever, key = api_token_create(user=user, name="forever")
    assert forever.expiry is None
    with time_machine.travel(timezone.now() + timedelta(days=20 * 365)):
        assert _get(key).status_code == 200

    own, _ = api_token_create(user=user, name="own", days=7)
    assert own.expiry is not None
    assert abs(own.expiry - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


@pytest.mark.parametrize("value", ["-1", "3651", "a year"])
def test_a_bad_lifetime_setting_stops_start_up_naming_it(value):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "API_TOKEN_TTL_DAYS": value,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "API_TOKEN_TTL_DAYS" in result.stderr


# --- the command -------------------------------------------------------------------------


def test_the_command_takes_a_lifetime_of_its_own():
    UserFactory(username="prometheus")
    key, note = _create_token("prometheus", "--name", "scraper", "--days", "0")
    assert ApiToken.objects.get().expiry is None
    assert "never expires" in note
    assert _get(key).status_code == 200


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["nobody", "--name", "x"], "No user 'nobody'"),
        (["alice", "--name", ""], "name"),
        (["alice", "--name", "   "], "name"),
        (["alice", "--name", "two\nlines"], "name"),
        (["alice", "--name", "n" * 101], "name"),
        (["alice", "--name", "x", "--days", "-1"], "days"),
        (["alice", "--name", "x", "--days", "3651"], "days"),
    ],
)
def test_the_command_refuses_bad_input_naming_it(args, reason):
    UserFactory(username="alice")
    with pytest.raises(CommandError, match=reason):
        _create_token(*args)
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_command_refuses_an_inactive_user():
    UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        _create_token("gone", "--name", "x")


def test_the_command_creates_a_service_account_that_may_only_submit_and_read_its_own():
    other = UserFactory(username="someone")
    api_token_create(user=other, name="x")
    TicketFactory(ticket_id="INC-NOT-YOURS", submitted_by=other)

    key, note = _create_token("alertmanager", "--name", "alertmanager", "--create-user")

    user = apps.get_model("auth", "User").objects.get(username="alertmanager")
    assert "service account" in note
    assert not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser and not user.groups.exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    listed = client.get(URL)
    assert listed.status_code == 200
    assert "INC-NOT-YOURS" not in listed.content.decode()  # not someone else's tickets
    assert client.get(f"{URL}/INC-NOT-YOURS").status_code == 404
    created = AuditEvent.objects.filter(message__contains="Service account 'alertmanager'")
    assert created.count() == 1


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["alice", "--name", "x", "--create-user"], "exists already"),
        (["bad name!", "--name", "x", "--create-user"], "username"),
        (["nobody", "--name", "x"], "--create-user"),
        (["svc", "--name", "x", "--days", "-1", "--create-user"], "days"),
    ],
)
def test_the_command_refuses_a_taken_or_bad_service_account_name(args, reason):
    UserFactory(username="alice")
    with pytest.raises(CommandError, match=reason):
        _create_token(*args)
    assert not ApiToken.objects.exists()
    assert apps.get_model("auth", "User").objects.count() == 1


def test_quickstart_admin_prints_a_working_token_and_keeps_it_across_runs(settings, tmp_path):
    settings.VAR_DIR = tmp_path

    def run() -> str:
        out = io.StringIO()
        call_command("quickstart_admin", stdout=out)
        match = re.search(r"API token: ([0-9a-f]{64})\n", out.getvalue())
        assert match is not None, out.getvalue()
        assert f"Authorization: Token {match.group(1)}" in out.getvalue()
        return match.group(1)

    key = run()
    assert _get(key).status_code == 200
    assert run() == key  # kept beside the password, not made anew
    assert ApiToken.objects.get().name == "quickstart"

    api_token_revoke(ApiToken.objects.get())
    new_key = run()  # the kept key no longer works: a new token
    assert new_key != key
    assert _get(new_key).status_code == 200


# --- bad headers: always 401, never 500 ----------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token    ",
        "Token \x00",
        "Token abc\x00def",
        "Token " + "a" * 100_000,
        "Token " + "0" * 129,
        "Token two words",
        "Token\tsplit\tby\ttabs",
        "Token café",
        "Token \u2603\u200b",
        "Token \x7f\x01",
        "tOkEn not-a-real-token",
    ],
)
def test_a_bad_token_header_is_a_json_401(header):
    _assert_refused(_get(header, raw=True))


def test_a_real_key_with_anything_attached_is_refused():
    _, key = api_token_create(user=UserFactory(), name="ci")
    for header in (f"Token {key}\x00", f"Token {key} {key}", f"Token {key}x", f"Token \x00{key}"):
        _assert_refused(_get(header, raw=True))
    assert _get(f"token {key}", raw=True).status_code == 200  # the scheme is case-insensitive


def test_another_scheme_is_not_authenticated():
    response = _get("Bearer abc", raw=True)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# --- tokens of the former plaintext table ----------------------------------------------------

LEGACY_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # the shape of the former keys


def _convert():
    module = __import__(
        "remediation.migrations.0027_apitoken_from_legacy_tokens", fromlist=["convert"]
    )
    module.convert(apps, SimpleNamespace(connection=connection))


def test_a_key_of_the_former_plaintext_table_keeps_working_and_the_plaintext_goes(settings):
    settings.API_TOKEN_TTL_DAYS = 90
    user = UserFactory(username="legacy")
    created = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    timestamp = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY, '
            f'"created" {timestamp} NOT NULL, "user_id" integer NOT NULL)'
        )
        cursor.execute(
            'INSERT INTO authtoken_token ("key", "created", "user_id") VALUES (%s, %s, %s)',
            [
                LEGACY_KEY,
                created if connection.vendor == "postgresql" else "2024-05-01 12:00:00",
                user.pk,
            ],
        )

    _convert()
    _convert()  # run again (a re-applied migration): nothing doubles

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    token = ApiToken.objects.get()
    assert token.user == user
    assert token.token_key == LEGACY_KEY[:15]
    assert token.digest != LEGACY_KEY
    assert token.name == "converted legacy token"
    assert token.created == created
    assert token.expiry is not None
    assert abs(token.expiry - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    assert _get(LEGACY_KEY).status_code == 200
    _assert_refused(_get(token.digest))


def test_without_the_former_table_the_conversion_does_nothing():
    _convert()
    assert not ApiToken.objects.exists()


# --- the admin -----------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_admin_makes_a_token_and_shows_its_key_once(admin_client):
    integration = UserFactory(username="integration")
    response = admin_client.post(
        "/admin/remediation/apitoken/add/",
        {"user": integration.pk, "name": "alertmanager", "days": "30"},
    )
    assert response.status_code == 200, response.content[:500]
    assert "no-store" in response["Cache-Control"]
    key = re.search(
        rb'id="api-token-key" readonly size="70" value="([0-9a-f]{64})"', response.content
    )
    assert key is not None
    key_text = key.group(1).decode()
    token = ApiToken.objects.get()
    assert (token.user, token.name) == (integration, "alertmanager")
    assert abs(token.expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert _get(key_text).status_code == 200

    # The list and the token's page show the name, user and prefix, never the key; the
    # digest is no field (it only identifies the row in the admin's links, and opens nothing).
    for url in ("/admin/remediation/apitoken/", f"/admin/remediation/apitoken/{token.pk}/change/"):
        page = admin_client.get(url)
        assert page.status_code == 200
        body = page.content.decode()
        assert "alertmanager" in body and token.token_key in body
        assert key_text not in body
        assert f">{token.digest}<" not in body and "Digest" not in body
    audit = AuditEvent.objects.get(action=AuditAction.CONFIG_CHANGED)
    assert audit.actor.username == "root"


def test_the_admin_refuses_a_bad_name_or_lifetime(admin_client):
    integration = UserFactory(username="integration")
    for data in (
        {"user": integration.pk, "name": "", "days": "30"},
        {"user": integration.pk, "name": "a\nb", "days": "30"},
        {"user": integration.pk, "name": "ok", "days": "-1"},
        {"user": integration.pk, "name": "ok", "days": "99999"},
    ):
        response = admin_client.post("/admin/remediation/apitoken/add/", data)
        assert response.status_code == 200
        assert b"errorlist" in response.content
    assert not ApiToken.objects.exists()


def test_a_token_is_not_edited_in_the_admin(admin_client):
    token, _ = api_token_create(user=UserFactory(), name="ci")
    response = admin_client.post(
        f"/admin/remediation/apitoken/{token.pk}/change/", {"name": "renamed", "days": "0"}
    )
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.name == "ci"


def test_the_admin_revokes_a_token(admin_client):
    token, key = api_token_create(user=UserFactory(), name="ci")
    response = admin_client.post(f"/admin/remediation/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    _assert_refused(_get(key))
    deleted = AuditEvent.objects.get(details__verb="deleted")
    assert deleted.actor.username == "root"

    other, other_key = api_token_create(user=UserFactory(), name="bulk")
    admin_client.post(
        "/admin/remediation/apitoken/",
        {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"},
    )
    _assert_refused(_get(other_key))


# --- the schema ----------------------------------------------------------------------------


def test_the_schema_keeps_its_token_security_scheme(api):
    schema = api.get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
