"""What every benchmark shares: its own PostgreSQL database, Django set up against it, and
timing helpers. Benchmarks import this before anything from the project."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The server that holds the bench_* databases; each benchmark uses its own database.
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SMALL = int(os.environ.get("BENCH_SMALL", "1000"))
LARGE = int(os.environ.get("BENCH_LARGE", "1000000"))
PATTERNS = int(os.environ.get("BENCH_PATTERNS", "1000"))
# Every benchmark database is named PREFIX + its role (bench_small, bench_post, ...); a
# prefix such as bench_mine_ lets two people run the benchmarks on one server at once.
PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench_")
if not PREFIX.startswith("bench_"):
    raise SystemExit(f"BENCH_DB_PREFIX {PREFIX!r} must start with bench_")


def db_name(role: str) -> str:
    return PREFIX + role


# The two histories the 1k-vs-1M benchmarks compare (another pair for the smoke test).
SMALL_DB = os.environ.get("BENCH_SMALL_DB", db_name("small"))
LARGE_DB = os.environ.get("BENCH_LARGE_DB", db_name("large"))


def db_url(name: str) -> str:
    if not name.startswith("bench_"):
        raise SystemExit(f"refusing database {name!r}: benchmark databases are named bench_*")
    return f"{PG_SERVER}/{name}"


def admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True)


def database_exists(name: str) -> bool:
    with admin_connect() as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )


def ensure_empty_database(name: str) -> None:
    """Create ``name`` (migrated, with the bench user, no history) unless it exists."""
    if not database_exists(name):
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("generate.py")),
                "--db",
                name,
                "--tickets",
                "0",
                "--patterns",
                "0",
            ],
            check=True,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def recreate_database(name: str) -> None:
    db_url(name)
    with admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(name: str) -> None:
    """Point Django at ``bench_<name>`` (DEBUG off, persistent connections as deployed)."""
    os.environ["DATABASE_URL"] = db_url(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    # The benchmarks measure what a request costs, not the per-identity intake limit.
    os.environ.setdefault("THROTTLE_INTAKE_RATE", "off")
    os.chdir(ROOT)
    import django

    django.setup()


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` (after one warm-up call)."""
    fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


class QueryTimer:
    """A ``connection.execute_wrapper``: adds each query's seconds to ``db`` and counts it
    in ``queries`` (``reset()`` between measurements)."""

    def __init__(self) -> None:
        self.db, self.queries = 0.0, 0

    def reset(self) -> None:
        self.db, self.queries = 0.0, 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.db += time.perf_counter() - started
            self.queries += 1


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def verdict(name: str, ratio: float, target: str, ok: bool) -> int:
    print(f"{name}: {ratio:.2f} (target {target}) {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1
