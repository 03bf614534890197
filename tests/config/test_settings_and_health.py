"""Start-up refuses bad configuration, naming the variable; /healthz and /metrics are open."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.dbutil import ROOT


def _start_django(**env: str) -> subprocess.CompletedProcess:
    child = {
        k: v for k, v in os.environ.items() if not k.startswith(("AUTO_REMEDIATION", "PATTERN_"))
    }
    child.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env={**child, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTO_REMEDIATION_MIN_RELIABILITY", "abc"),
        ("AUTO_REMEDIATION_MIN_RELIABILITY", "150"),
        ("AUTO_REMEDIATION_MIN_RELIABILITY", "nan"),
        ("AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR", "-1"),
        ("AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR", "2.5"),
        ("AUTO_REMEDIATION_ENABLED", "maybe"),
        ("AUTO_REMEDIATION_REQUIRE_APPROVAL", "2"),
        ("PATTERN_MIN_OCCURRENCES", "0"),
        ("PATTERN_MIN_POSITIVE_RATE", "1.5"),
        ("AUTO_REMEDIATION_ANALYZER", "gpt"),
        ("DATABASE_URL", "nosuchscheme://x"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(name, value):
    result = _start_django(**{name: value})
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert name in result.stderr


def test_the_anthropic_analyzer_needs_a_key():
    result = _start_django(AUTO_REMEDIATION_ANALYZER="anthropic", ANTHROPIC_API_KEY="")
    assert result.returncode != 0
    assert "ANTHROPIC_API_KEY" in result.stderr


def test_good_values_start():
    result = _start_django(
        AUTO_REMEDIATION_MIN_RELIABILITY="90",
        AUTO_REMEDIATION_ENABLED="false",
        PATTERN_MIN_POSITIVE_RATE="0.9",
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_the_documented_defaults(settings):
    assert settings.AUTO_REMEDIATION_ENABLED is True
    assert settings.AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR == 10
    assert settings.AUTO_REMEDIATION_REQUIRE_APPROVAL is True
    assert settings.AUTO_REMEDIATION_MIN_RELIABILITY == 85.0
    assert settings.PATTERN_MIN_OCCURRENCES == 5
    assert settings.PATTERN_MIN_POSITIVE_RATE == 0.85
    assert settings.AUTO_REMEDIATION_ANALYZER == "local"


@pytest.mark.django_db
def test_healthz_checks_the_database_without_authentication(anon):
    r = anon.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_metrics_are_served_in_prometheus_format(anon):
    r = anon.get("/metrics")
    assert r.status_code == 200
    assert b"django_http_requests" in r.content


@pytest.mark.django_db
def test_the_openapi_schema_and_its_ui_are_served_behind_login_from_own_static_files(
    anon, client, user
):
    r = anon.get("/api/schema/")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"
    docs = anon.get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"].startswith("/accounts/login/?next=/api/docs/")

    client.force_login(user)
    r = client.get("/api/schema/")
    assert r.status_code == 200
    assert b"/api/v1/tickets" in r.content
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
