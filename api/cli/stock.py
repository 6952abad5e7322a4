"""`abparts stock`: stock per (warehouse, part) at a past point, folded from the log itself.

The point is a log position (events with position <= N) or a moment (events
recorded at or before it). Events are streamed in batches from the commit-safe
reader's range query and folded with the ledger's pure fold, so the answer is
the one every projection must agree with; only the result is held in memory.
Events of transactions still in progress are not counted (the reader's horizon).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Literal, TextIO
from uuid import UUID

from api.cli.common import moment, non_negative, uuid
from api.runtime.names import Names, lookup
from api.runtime.settings import Settings
from ledger.fold import StockKey
from ledger.postgres.history import UnknownEventType, stock_at

Format = Literal["table", "json"]
FORMATS: tuple[Format, ...] = ("table", "json")
STOCK_PLACES = Decimal("0.001")  # the spec's current_stock is DECIMAL(10,3)
HEADER = ("warehouse_id", "part_id", "current_stock")
# What a person reads first; the ids follow, for scripts and look-ups.
TABLE = ("warehouse", "part_number", "part_name", "current_stock", "unit", "warehouse_id", "part_id")


def stock_rows(levels: dict[StockKey, Decimal]) -> list[tuple[str, str, str]]:
    """(warehouse_id, part_id, current_stock) rows, sorted, stock to the spec's three decimals."""
    return [
        (str(warehouse), str(part), str(levels[warehouse, part].quantize(STOCK_PLACES)))
        for warehouse, part in sorted(levels, key=lambda key: (str(key[0]), str(key[1])))
    ]


def named_rows(levels: dict[StockKey, Decimal], names: Names) -> list[dict[str, str | None]]:
    """stock_rows with the part's number, name and unit and the warehouse's and organization's names."""
    named = []
    for warehouse, part, stock in stock_rows(levels):
        row: dict[str, str | None] = dict(zip(HEADER, (warehouse, part, stock), strict=True))
        row |= names.part(UUID(part))
        row |= {k: None if v is None else str(v) for k, v in names.warehouse(UUID(warehouse)).items()}
        named.append(row)
    return named


def write_stock(
    out: TextIO, levels: dict[StockKey, Decimal], fmt: Format = "table", names: Names | None = None
) -> None:
    """Print `levels` as an aligned table or as a JSON array (stock as exact decimal strings), with names."""
    rows = named_rows(levels, names or Names())
    if fmt == "json":
        json.dump(rows, out, indent=2)
        out.write("\n")
        return
    if fmt != "table":
        raise ValueError(f"unknown stock format {fmt!r}")
    keys = ("warehouse_name", "part_number", "part_name", "current_stock", "unit_of_measure", *HEADER[:2])
    cells = [TABLE] + [tuple(row[k] or "-" for k in keys) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(TABLE))]
    for line in cells:
        padded = [
            c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.write("  ".join(padded).rstrip() + "\n")


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    resolve_database: Callable[[Settings], str],
) -> None:
    """Add `abparts stock` to `sub`; its handler connects to resolve_database(settings)."""

    def handler(settings: Settings, args: argparse.Namespace) -> int:
        import psycopg

        if (args.position is None) == (args.as_of is None and args.known_at is None):
            print("abparts stock: error: give --position, or --as-of and/or --known-at", file=sys.stderr)
            return 2
        url = resolve_database(settings)
        with psycopg.connect(url, autocommit=True) as conn:
            try:
                levels = stock_at(
                    conn,
                    position=args.position,
                    as_of=args.known_at,
                    happened_by=args.as_of,
                    warehouse_id=args.warehouse,
                    part_id=args.part,
                )
            except UnknownEventType as error:
                print(f"abparts stock: error: {error}", file=sys.stderr)
                return 1
            names = lookup(conn, parts=(p for _, p in levels), warehouses=(w for w, _ in levels))
        write_stock(sys.stdout, levels, "json" if args.json else args.format, names)
        return 0

    parser = sub.add_parser(
        "stock",
        help="stock per (warehouse, part) at a past position or moment, folded from the log",
        description=(
            "Fold the log's finished events up to a position, or by date (--as-of) and/or as recorded"
            " by a moment (--known-at), into stock per (warehouse, part); zero stock is left out."
        ),
    )
    _add_point(parser)
    parser.add_argument("--warehouse", type=uuid, metavar="ID", help="only this warehouse")
    parser.add_argument("--part", type=uuid, metavar="ID", help="only this part")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default) or json")
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.set_defaults(func=handler)


def _add_point(parser: argparse.ArgumentParser) -> None:
    """The point to fold to: --position, or --as-of (by date) and/or --known-at (by record)."""
    point = parser.add_argument_group("the point (--position, or --as-of and/or --known-at)")
    point.add_argument(
        "--as-of",
        type=moment,
        metavar="TIMESTAMP",
        help="stock as it happened: count stock changes dated at or before this ISO 8601 moment"
        " (naive means UTC; a movement's transaction_date, a held one's approval)",
    )
    point.add_argument(
        "--known-at",
        type=moment,
        metavar="TIMESTAMP",
        help="stock as the ledger knew it: count only events recorded at or before this moment",
    )
    point.add_argument(
        "--position", type=non_negative, metavar="N", help="count events at log positions up to N (inclusive)"
    )
