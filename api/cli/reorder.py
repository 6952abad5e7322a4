"""`abparts reorder`: draft the day's supplier orders from a warehouse's reorder suggestions.

The same rules as `POST /reports/reorder-suggestions/drafts` (api.runtime.reorder): one
`requested` order per supplier each part was last ordered from, one to fill in for the rest,
once per UTC day and warehouse. The commands run through the ledger like any other, as the
Oraseas EE admin named by `--by`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from uuid import UUID

from api.runtime import reorder
from api.runtime.settings import Settings
from ledger.errors import LedgerError
from ledger.orders.commands import RequestSupplierOrder
from ledger.postgres.connection import Connection
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult

ORASEAS_ADMIN = """
SELECT u.id FROM users u JOIN organizations o ON o.id = u.organization_id
WHERE u.username = %s AND u.is_active AND u.role IN ('admin', 'super_admin')
  AND o.organization_type = 'oraseas_ee'
"""


def draft_for(conn: Connection, settings: Settings, warehouse_id: UUID, username: str) -> reorder.Drafts:
    """Draft (or find) the day's orders for the warehouse as `username`. Raises LookupError or LedgerError."""
    row = conn.execute(ORASEAS_ADMIN, [username]).fetchone()
    if row is None:
        raise LookupError(f"no active Oraseas EE admin is called {username!r}")
    owner = reorder.warehouse_owner(conn, warehouse_id)
    if owner is None:
        raise LookupError(f"warehouse {warehouse_id} does not exist")
    if not owner[1]:
        raise LookupError(f"warehouse {warehouse_id} is not Oraseas EE's: supplier orders are received there")
    ledger = PostgresLedger(settings.policy())
    metadata = CommandMetadata(performed_by_user_id=row[0], request_id="cli:reorder")

    def run(command: RequestSupplierOrder) -> CommandResult:
        return ledger.execute(conn, command, metadata)

    return reorder.draft(conn, warehouse_id, owner[0], run)


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    resolve_database: Callable[[Settings], str],
) -> None:
    """Add `abparts reorder` to `sub`; its handler connects to resolve_database(settings)."""

    def handler(settings: Settings, args: argparse.Namespace) -> int:
        import psycopg

        with psycopg.connect(resolve_database(settings), autocommit=True) as conn:
            try:
                drafts = draft_for(conn, settings, args.warehouse, args.by)
            except LedgerError as error:
                print(f"abparts reorder: error: {error.code}: {error}", file=sys.stderr)
                return 2
            except LookupError as error:
                print(f"abparts reorder: error: {error}", file=sys.stderr)
                return 2
        ids = [str(i) for i in drafts.order_ids]
        if args.json:
            document = {"warehouse_id": str(drafts.warehouse_id), "day": drafts.day.isoformat()}
            print(json.dumps(document | {"created": drafts.created, "order_ids": ids}, indent=2))
        elif not ids:
            print(f"nothing to reorder for warehouse {drafts.warehouse_id}")
        else:
            verb = "drafted" if drafts.created else "already drafted today:"
            print(f"{verb} {len(ids)} supplier orders for warehouse {drafts.warehouse_id}")
            for order_id in ids:
                print(f"  /supplier-orders/{order_id}")
        return 0

    parser = sub.add_parser(
        "reorder",
        help="draft requested supplier orders from a warehouse's reorder suggestions (once a day)",
        description=__doc__.split("\n")[0] if __doc__ else None,
    )
    parser.add_argument("--warehouse", type=UUID, required=True, metavar="ID", help="an Oraseas EE warehouse")
    parser.add_argument("--by", required=True, metavar="USERNAME", help="the Oraseas EE admin ordering")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(func=handler)
