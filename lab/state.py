"""The lab's state in one SQLite file, safe under concurrent writers.

Every change is one ``BEGIN IMMEDIATE`` transaction: SQLite then holds the database's write
lock from the start, so two lab processes (two stdio sessions, or the HTTP server and a
command) serialize instead of losing each other's updates. Readers use WAL and never block.

Tables: ``world`` (one JSON document: objects and hosts), ``idempotency`` (each write
tool's key and its first answer), ``writes`` (every change made, for people and tests),
``faults`` (staged failures), ``in_flight`` (targets an operation is running on).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.inventory import default_hosts, default_inventory

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "var" / "lab-state.sqlite3"
FAULT_KINDS = (
    "fail",
    "postcheck_fail",
    "unreachable",
    "slow",
    "hang",
    "slow_read",
    "maintenance",
)
# Faults that stay until cleared (count does not apply).
PERSISTENT_FAULTS = ("unreachable", "maintenance")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS world (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, tool TEXT NOT NULL, args TEXT NOT NULL,
    result TEXT, is_error INTEGER NOT NULL DEFAULT 0, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS writes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, tool TEXT NOT NULL,
    target TEXT NOT NULL, key TEXT NOT NULL, params TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, target TEXT NOT NULL,
    operation TEXT, remaining INTEGER NOT NULL, seconds REAL);
CREATE TABLE IF NOT EXISTS in_flight (
    target TEXT PRIMARY KEY, tool TEXT NOT NULL, key TEXT NOT NULL, since REAL NOT NULL);
"""


def state_path() -> Path:
    raw = os.environ.get("LAB_STATE_PATH", "").strip()
    return Path(raw) if raw else DEFAULT_PATH


@dataclass
class Fault:
    id: int
    kind: str
    target: str
    operation: str | None
    remaining: int
    seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "operation": self.operation,
            "remaining": self.remaining,
            "seconds": self.seconds,
        }


class Tx:
    """One open transaction: the world document plus the side tables."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        row = conn.execute("SELECT data FROM world WHERE id = 1").fetchone()
        if row is None:
            self.world: dict[str, Any] = {"objects": default_inventory(), "hosts": default_hosts()}
            self.dirty = True
        else:
            self.world = json.loads(row[0])
            self.dirty = False

    def save(self) -> None:
        self.dirty = True

    def flush(self) -> None:
        if self.dirty:
            self.conn.execute(
                "INSERT INTO world (id, data) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (json.dumps(self.world, sort_keys=True),),
            )

    # idempotency ------------------------------------------------------------------------
    def idem_get(self, key: str) -> tuple[str, str, Any, bool] | None:
        row = self.conn.execute(
            "SELECT tool, args, result, is_error FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        result = json.loads(row[2]) if row[2] is not None else None
        return row[0], row[1], result, bool(row[3])

    def idem_reserve(self, key: str, tool: str, args: str) -> None:
        self.conn.execute(
            "INSERT INTO idempotency (key, tool, args, result, is_error, at) "
            "VALUES (?, ?, ?, NULL, 0, ?)",
            (key, tool, args, time.time()),
        )

    def idem_store(self, key: str, result: Any, *, is_error: bool) -> None:
        self.conn.execute(
            "UPDATE idempotency SET result = ?, is_error = ? WHERE key = ?",
            (json.dumps(result, sort_keys=True), int(is_error), key),
        )

    # writes log -------------------------------------------------------------------------
    def log_write(self, tool: str, target: str, key: str, params: Any, detail: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO writes (at, tool, target, key, params, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), tool, target, key, json.dumps(params, sort_keys=True), detail),
        )
        return int(cur.lastrowid or 0)

    # faults -----------------------------------------------------------------------------
    def add_fault(
        self, kind: str, target: str, operation: str | None, count: int, seconds: float | None
    ) -> Fault:
        remaining = -1 if kind in PERSISTENT_FAULTS or count == 0 else count
        cur = self.conn.execute(
            "INSERT INTO faults (kind, target, operation, remaining, seconds) "
            "VALUES (?, ?, ?, ?, ?)",
            (kind, target, operation, remaining, seconds),
        )
        return Fault(int(cur.lastrowid or 0), kind, target, operation, remaining, seconds)

    def faults(self, target: str | None = None) -> list[Fault]:
        sql = "SELECT id, kind, target, operation, remaining, seconds FROM faults"
        args: tuple[Any, ...] = ()
        if target is not None:
            sql += " WHERE target = ?"
            args = (target,)
        return [Fault(*row) for row in self.conn.execute(sql + " ORDER BY id", args)]

    def has_fault(self, kind: str, targets: tuple[str, ...]) -> bool:
        marks = ",".join("?" * len(targets))
        row = self.conn.execute(
            f"SELECT 1 FROM faults WHERE kind = ? AND target IN ({marks}) LIMIT 1",  # noqa: S608
            (kind, *targets),
        ).fetchone()
        return row is not None

    def take_fault(
        self, kind: str, targets: tuple[str, ...], operation: str | None
    ) -> Fault | None:
        """Consume one armed fault of ``kind`` for any of ``targets`` (and this operation, or
        any operation when the fault names none)."""
        marks = ",".join("?" * len(targets))
        row = self.conn.execute(
            "SELECT id, kind, target, operation, remaining, seconds FROM faults "  # noqa: S608
            f"WHERE kind = ? AND target IN ({marks}) AND (operation IS NULL OR operation = ?) "
            "ORDER BY id LIMIT 1",
            (kind, *targets, operation),
        ).fetchone()
        if row is None:
            return None
        fault = Fault(*row)
        if fault.remaining > 1:
            self.conn.execute(
                "UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (fault.id,)
            )
        elif fault.remaining == 1:
            self.conn.execute("DELETE FROM faults WHERE id = ?", (fault.id,))
        return fault

    def clear_faults(self, target: str | None) -> int:
        if target is None:
            return self.conn.execute("DELETE FROM faults").rowcount
        return self.conn.execute("DELETE FROM faults WHERE target = ?", (target,)).rowcount

    # in flight --------------------------------------------------------------------------
    def in_flight(self, target: str) -> tuple[str, str] | None:
        row = self.conn.execute(
            "SELECT tool, key FROM in_flight WHERE target = ?", (target,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def begin_flight(self, target: str, tool: str, key: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO in_flight (target, tool, key, since) VALUES (?, ?, ?, ?)",
            (target, tool, key, time.time()),
        )

    def end_flight(self, target: str, key: str) -> None:
        self.conn.execute("DELETE FROM in_flight WHERE target = ? AND key = ?", (target, key))


class LabState:
    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else state_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        """One write transaction; committed when the block ends, rolled back on error."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                tx = Tx(conn)
                yield tx
                tx.flush()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def reset(self) -> None:
        with self.tx() as tx:
            tx.world = {"objects": default_inventory(), "hosts": default_hosts()}
            tx.save()
            for table in ("idempotency", "writes", "faults", "in_flight"):
                tx.conn.execute(f"DELETE FROM {table}")  # noqa: S608

    def writes(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT seq, at, tool, target, key, params, detail FROM writes "
                "ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {
                "seq": r[0],
                "at": r[1],
                "tool": r[2],
                "target": r[3],
                "key": r[4],
                "params": json.loads(r[5]),
                "detail": r[6],
            }
            for r in reversed(rows)
        ]
