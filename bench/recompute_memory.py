"""Peak memory of ``manage.py recompute_patterns`` over the large history.

    python bench/recompute_memory.py     # bench_large (bench/generate.py)

Runs the command in a child process and reads the child's peak resident set size
(getrusage), next to a child that only starts Django (the baseline every command pays).
Prints both and the ratio peak/500 MB. Target: < 1 (under 500 MB).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import _common

DB = sys.argv[1] if len(sys.argv) > 1 else _common.LARGE_DB
LIMIT_MB = 500


def peak_mb(args: list[str]) -> float:
    env = {**os.environ, "DATABASE_URL": _common.db_url(DB)}
    env.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=_common.ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far (KiB): run the bigger one last.
    return max(after, before) / 1024


def main() -> int:
    baseline = peak_mb(["check"])
    peak = peak_mb(["recompute_patterns"])
    print(f"{DB}: peak RSS of recompute_patterns {peak:.0f} MB (Django alone: {baseline:.0f} MB)")
    return _common.verdict("recompute peak/500 MB", peak / LIMIT_MB, "< 1", peak < LIMIT_MB)


if __name__ == "__main__":
    sys.exit(main())
