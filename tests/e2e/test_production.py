"""The production setup of the README: gunicorn with DEBUG off on PostgreSQL serves pages
with their static files; `check --deploy` is clean under the production settings."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.support.dbutil import ROOT, stop
from tests.support.servers import collectstatic, gunicorn_port, production_env, start_gunicorn


def get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_the_login_page_and_its_static_files(tmp_path, is_postgres):
    if not is_postgres:
        pytest.skip("the production setup runs on PostgreSQL")
    env = production_env(tmp_path)
    collectstatic(env)
    log = tmp_path / "gunicorn.log"
    web = start_gunicorn(env, log=log, workers=2)
    try:
        base = f"http://127.0.0.1:{gunicorn_port(web, log, workers=2)}"

        status, _, body = get(f"{base}/admin/login/")
        assert status == 200, log.read_text(errors="replace")[-3000:]
        stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', body.decode())
        assert "/static/admin/css/base.css" in stylesheets
        for path in stylesheets:
            # WhiteNoise serves the file collectstatic wrote, compressed when asked.
            status, headers, data = get(f"{base}{path}", **{"Accept-Encoding": "gzip"})
            assert status == 200, path
            assert headers["Content-Type"].startswith("text/css")
            assert headers.get("Content-Encoding") == "gzip"
            on_disk = (tmp_path / "static" / path.removeprefix("/static/")).read_bytes()
            assert gzip.decompress(data) == on_disk

        status, _, body = get(f"{base}/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})
        status, _, body = get(f"{base}/metrics")
        assert status == 200 and b"datacenter_docs_auto_remediation_attempts_total" in body
        # DEBUG is off: an unknown page is a plain 404, no debug page naming our URLs.
        status, _, body = get(f"{base}/no-such-page")
        assert status == 404 and b"URLconf" not in body
    finally:
        stop(web)


def test_check_deploy_is_clean_under_the_production_settings(tmp_path):
    env = production_env(
        tmp_path,
        SECURE_SSL_REDIRECT="true",
        SECURE_PROXY_SSL_HEADER="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
