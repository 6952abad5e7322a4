"""`abparts reservations`: the stock customer orders hold reserved, from the stock_reservations table.

Open reservations by default (`--all` adds the closed ones), newest first, with
the part, warehouse and customer names; `--json` prints them as an array with
quantities as exact decimal strings. It reads the projection, so it is as
current as the stock_reservations worker (`abparts status` tells its lag).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from api.cli.common import Commands, json_argument, print_json, uuid
from api.runtime.settings import Settings

RESERVATIONS = """
SELECT r.customer_order_id, c.name AS customer, w.name AS warehouse, p.part_number, p.name AS part_name,
    r.reserved_quantity, r.shipped_quantity, r.released_quantity, r.open_quantity, p.unit_of_measure,
    r.status, r.reserved_at, r.warehouse_id, r.part_id, r.customer_organization_id
FROM stock_reservations r
LEFT JOIN organizations c ON c.id = r.customer_organization_id
LEFT JOIN warehouses w ON w.id = r.warehouse_id
LEFT JOIN parts p ON p.id = r.part_id
WHERE (%(all)s OR r.status = 'open')
  AND (%(warehouse)s::uuid IS NULL OR r.warehouse_id = %(warehouse)s)
  AND (%(part)s::uuid IS NULL OR r.part_id = %(part)s)
  AND (%(order)s::uuid IS NULL OR r.customer_order_id = %(order)s)
ORDER BY r.reserved_at DESC, r.id DESC
"""
TABLE = ("order", "customer", "warehouse", "part_number", "open", "reserved", "shipped", "released", "unit")


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def write_table(rows: list[dict[str, Any]]) -> None:
    """An aligned table, quantities right-aligned; a line saying so when there is none."""
    if not rows:
        print("no reservations")
        return
    keys = ("customer_order_id", "customer", "warehouse", "part_number", "open_quantity",
            "reserved_quantity", "shipped_quantity", "released_quantity", "unit_of_measure")  # fmt: skip
    cells = [TABLE] + [tuple(_text(row[k]) for k in keys) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(TABLE))]
    for line in cells:
        pairs = enumerate(zip(line, widths, strict=True))
        padded = [c.rjust(w) if 4 <= i <= 7 else c.ljust(w) for i, (c, w) in pairs]
        sys.stdout.write("  ".join(padded).rstrip() + "\n")


def register(sub: Commands, resolve_database: Callable[[Settings], str]) -> None:
    """Add `abparts reservations` to `sub`; its handler connects to resolve_database(settings)."""

    def handler(settings: Settings, args: argparse.Namespace) -> int:
        import psycopg

        params = {"all": args.all, "warehouse": args.warehouse, "part": args.part, "order": args.order}
        with psycopg.connect(resolve_database(settings), autocommit=True) as conn:
            cursor = conn.execute(RESERVATIONS, params)
            names = [c.name for c in cursor.description or ()]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if args.json:
            print_json([{k: None if v is None else str(v) for k, v in row.items()} for row in rows])
        else:
            write_table(rows)
        return 0

    parser = sub.add_parser(
        "reservations",
        help="stock reserved for customer orders (open ones unless --all)",
        description="List what confirmed customer orders hold reserved, per order, warehouse and part.",
    )
    parser.add_argument("--warehouse", type=uuid, metavar="ID", help="only this warehouse")
    parser.add_argument("--part", type=uuid, metavar="ID", help="only this part")
    parser.add_argument("--order", type=uuid, metavar="ID", help="only this customer order")
    parser.add_argument("--all", action="store_true", help="closed reservations too")
    json_argument(parser)
    parser.set_defaults(func=handler)
