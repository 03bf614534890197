"""Starting the production web server (gunicorn with deploy/gunicorn.conf.py) and
Prometheus in tests, the way the README's "Running in production" section says."""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.dbutil import ROOT, child_env, wait_for

GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
PROMETHEUS = Path("/usr/bin/prometheus")


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of the README's production section, against the test database."""
    return child_env(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        STATIC_ROOT=str(tmp_path / "static"),
        **extra,
    )


def collectstatic(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )


def start_gunicorn(env: dict[str, str], *, log: Path, workers: int = 1) -> subprocess.Popen:
    """``gunicorn -c deploy/gunicorn.conf.py`` on a free port of 127.0.0.1."""
    env = {**env, "GUNICORN_BIND": "127.0.0.1:0", "WEB_CONCURRENCY": str(workers)}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def gunicorn_port(proc: subprocess.Popen, log: Path, *, workers: int = 1) -> int:
    """The port gunicorn bound, once all its workers have booted."""

    def ready():
        if proc.poll() is not None:
            return None
        text = log.read_text(errors="replace")
        bound = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
        if bound and text.count("Booting worker with pid") >= workers:
            return int(bound.group(1))
        return None

    port = wait_for(ready, timeout=60)
    assert port, f"gunicorn did not start:\n{log.read_text(errors='replace')[-4000:]}"
    return port


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
