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
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, TextIO
from uuid import UUID

from api.runtime.settings import Settings
from ledger.fold import StockKey
from ledger.postgres.history import UnknownEventType, stock_at

Format = Literal["table", "json"]
FORMATS: tuple[Format, ...] = ("table", "json")
STOCK_PLACES = Decimal("0.001")  # the spec's current_stock is DECIMAL(10,3)
HEADER = ("warehouse_id", "part_id", "current_stock")


def stock_rows(levels: dict[StockKey, Decimal]) -> list[tuple[str, str, str]]:
    """(warehouse_id, part_id, current_stock) rows, sorted, stock to the spec's three decimals."""
    return [
        (str(warehouse), str(part), str(levels[warehouse, part].quantize(STOCK_PLACES)))
        for warehouse, part in sorted(levels, key=lambda key: (str(key[0]), str(key[1])))
    ]


def write_stock(out: TextIO, levels: dict[StockKey, Decimal], fmt: Format = "table") -> None:
    """Print `levels` as an aligned table or as a JSON array (stock as exact decimal strings)."""
    rows = stock_rows(levels)
    if fmt == "json":
        json.dump([dict(zip(HEADER, row, strict=True)) for row in rows], out, indent=2)
        out.write("\n")
        return
    if fmt != "table":
        raise ValueError(f"unknown stock format {fmt!r}")
    width = max([len(HEADER[2])] + [len(row[2]) for row in rows])
    for warehouse, part, stock in [HEADER, *rows]:
        out.write(f"{warehouse:<36}  {part:<36}  {stock:>{width}}\n")


def parse_moment(text: str) -> datetime:
    """An ISO 8601 timestamp for --as-of; a naive one means UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 timestamp: {text!r} (e.g. 2026-06-01T12:00:00Z)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _position(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {text!r}") from None


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    resolve_database: Callable[[Settings], str],
) -> None:
    """Add `abparts stock` to `sub`; its handler connects to resolve_database(settings)."""

    def handler(settings: Settings, args: argparse.Namespace) -> int:
        import psycopg

        url = resolve_database(settings)
        with psycopg.connect(url, autocommit=True) as conn:
            try:
                levels = stock_at(
                    conn,
                    position=args.position,
                    as_of=args.as_of,
                    warehouse_id=args.warehouse,
                    part_id=args.part,
                )
            except UnknownEventType as error:
                print(f"abparts stock: error: {error}", file=sys.stderr)
                return 1
        write_stock(sys.stdout, levels, "json" if args.json else args.format)
        return 0

    parser = sub.add_parser(
        "stock",
        help="stock per (warehouse, part) at a past position or moment, folded from the log",
        description=(
            "Fold the log's finished events up to a position or a moment into stock per"
            " (warehouse, part); zero stock is left out."
        ),
    )
    point = parser.add_mutually_exclusive_group(required=True)
    point.add_argument(
        "--as-of",
        type=parse_moment,
        metavar="TIMESTAMP",
        help="count events recorded at or before this ISO 8601 moment (naive means UTC)",
    )
    point.add_argument(
        "--position", type=_position, metavar="N", help="count events at log positions up to N (inclusive)"
    )
    parser.add_argument("--warehouse", type=_uuid, metavar="ID", help="only this warehouse")
    parser.add_argument("--part", type=_uuid, metavar="ID", help="only this part")
    parser.add_argument("--format", choices=FORMATS, default="table", help="table (default) or json")
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.set_defaults(func=handler)
