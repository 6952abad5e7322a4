"""`abparts repair-date`: give a movement a new date without rewriting the log.

A movement recorded before dates were bounded may carry one no reader can show
(`abparts verify` lists them). The repair appends a MovementDateCorrected event
to the movement's own stream, through the ledger like any command (same date
range, same optimistic concurrency, hash-chained), naming the super_admin who
made it; the projections show the corrected date from then on, and a rebuild
reproduces it. The original date stays in the log.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from api.cli.common import moment
from api.runtime.settings import Settings
from ledger.commands import CorrectMovementDate
from ledger.errors import LedgerError
from ledger.postgres.connection import Connection
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata

SUPER_ADMIN = "SELECT id FROM users WHERE username = %s AND role = 'super_admin' AND is_active"


def repair_date(
    conn: Connection,
    settings: Settings,
    transaction_id: UUID,
    date: datetime,
    username: str,
    notes: str | None,
) -> int:
    """Append the correction; the log position it got. Raises LookupError or LedgerError."""
    row = conn.execute(SUPER_ADMIN, [username]).fetchone()
    if row is None:
        raise LookupError(f"no active super_admin is called {username!r}")
    command = CorrectMovementDate(transaction_id=transaction_id, transaction_date=date, notes=notes)
    metadata = CommandMetadata(performed_by_user_id=row[0], request_id="cli:repair-date")
    result = PostgresLedger(settings.policy()).execute(conn, command, metadata)
    assert result.position is not None
    return result.position


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    resolve_database: Callable[[Settings], str],
) -> None:
    """Add `abparts repair-date` to `sub`; its handler connects to resolve_database(settings)."""

    def handler(settings: Settings, args: argparse.Namespace) -> int:
        import psycopg
        from pydantic import ValidationError

        with psycopg.connect(resolve_database(settings), autocommit=True) as conn:
            try:
                position = repair_date(conn, settings, args.transaction_id, args.date, args.by, args.notes)
            except LedgerError as error:
                print(f"abparts repair-date: error: {error.code}: {error}", file=sys.stderr)
                return 2
            except (LookupError, ValidationError) as error:
                print(f"abparts repair-date: error: {error}", file=sys.stderr)
                return 2
        print(f"transaction {args.transaction_id} is dated {args.date.isoformat()} from position {position}")
        return 0

    parser = sub.add_parser(
        "repair-date",
        help="give a movement a new date by appending a correcting event (the log is kept)",
    )
    parser.add_argument("transaction_id", type=UUID, metavar="TRANSACTION_ID")
    parser.add_argument("--date", type=moment, required=True, metavar="ISO", help="naive means UTC")
    parser.add_argument("--by", required=True, metavar="USERNAME", help="the super_admin making the repair")
    parser.add_argument("--notes", default=None, help="why (kept in the event)")
    parser.set_defaults(func=handler)
