"""The benchmark commands still run against today's schema and code (PostgreSQL only).

Not a timing test: each benchmark runs on tiny generated histories and must end with its
verdict line (PASS or FAIL, whatever the ratio) and no traceback. The generator fills the
tables with bulk SQL, so a new NOT NULL column or check constraint breaks it silently
unless something runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent
SMALL, LARGE = "bench_ci_small", "bench_ci_large"

pytestmark = pytest.mark.postgres


def _env() -> dict[str, str]:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    server = f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return {
        **os.environ,
        "BENCH_PG": server,
        "BENCH_SMALL_DB": SMALL,
        "BENCH_LARGE_DB": LARGE,
        "BENCH_PATTERNS": "20",
    }


def _run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out[-3000:]
    assert done.returncode in (0, 1), out[-3000:]
    return out


def test_the_generator_and_the_benchmarks_run():
    if connection.vendor != "postgresql":
        pytest.skip("the benchmarks run on PostgreSQL")
    for db, tickets in ((SMALL, "1000"), (LARGE, "3000")):
        out = _run("bench/generate.py", "--db", db, "--tickets", tickets, "--patterns", "20")
        assert f"tickets: {tickets} rows" in out
    for script, args, verdict in (
        ("bench/decision.py", ["3"], "decision large/small:"),
        ("bench/ticket_list.py", ["3"], "list category+status large/small:"),
        ("bench/recompute.py", ["1"], "recompute (every row rewritten)/GROUP BY:"),
        ("bench/recompute_memory.py", [], "recompute peak/500 MB:"),
    ):
        out = _run(script, *args)
        assert verdict in out and ("PASS" in out or "FAIL" in out), out[-2000:]
