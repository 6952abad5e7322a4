"""The record of ledger checks: each `abparts verify` and `abparts audit` run, kept in `check_runs`.

This module owns the table (migration 0011): the CLI records a run when it ends, and the ledger
page's health read (GET /ledger/checks) asks for the latest of each kind. A run is a time, an outcome,
a one-line summary and the command's --json document as details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg.types.json import Jsonb

from ledger.postgres.connection import Connection

CheckName = Literal["verify", "audit"]
CHECKS: tuple[CheckName, ...] = ("verify", "audit")

INSERT = """
INSERT INTO check_runs (check_name, started_at, finished_at, ok, summary, details)
VALUES (%s, %s, now(), %s, %s, %s)
RETURNING id, finished_at
"""
LATEST = """
SELECT DISTINCT ON (check_name) id, check_name, started_at, finished_at, ok, summary, details
FROM check_runs
ORDER BY check_name, finished_at DESC, id DESC
"""


@dataclass(frozen=True)
class CheckRun:
    """One finished run of a check."""

    id: int
    check_name: CheckName
    started_at: datetime
    finished_at: datetime
    ok: bool
    summary: str
    details: dict[str, Any]


def record(
    conn: Connection, check_name: CheckName, started_at: datetime, ok: bool, summary: str, details: Any
) -> int:
    """Keep one finished run (finished now, by the database's clock); its id."""
    with conn.transaction():
        row = conn.execute(INSERT, [check_name, started_at, ok, summary, Jsonb(details)]).fetchone()
    assert row is not None
    return int(row[0])


def latest(conn: Connection) -> dict[CheckName, CheckRun]:
    """The last finished run of each check that has run at least once."""
    return {
        row[1]: CheckRun(row[0], row[1], row[2], row[3], row[4], row[5], dict(row[6]))
        for row in conn.execute(LATEST).fetchall()
    }
