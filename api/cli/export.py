"""`abparts export`: stream the ledger to auditors as JSON Lines or CSV, in commit-safe order.

Only finished transactions are exported: the horizon (the snapshot's xmin) is
taken once at the start and every batch is read below it, in the reader's
(transaction xid8, position) order, so the export is one consistent prefix of
the log however long it runs and whatever is written meanwhile. Batches are
resumed from a (xid8, position) checkpoint and written as they arrive: memory
stays constant however long the log is.

Each record carries everything an event's hash covers, in the form the hash
was computed over (payload as stored, recorded_at in UTC ISO 8601, hashes in
hex), so an auditor can recompute every stream's chain from the export alone.
Beside it (a `names` object in JSONL, the NAME_FIELDS columns in CSV, neither
hashed) come the names of the parts, warehouses and organizations its payload
names, looked up once per batch for the ids not yet seen: the look-up cache
holds at most the reference rows the log names.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Literal, TextIO
from uuid import UUID

from api.cli.common import non_negative
from api.runtime.names import lookup
from api.runtime.settings import Settings
from ledger.export import FIELDS, KINDS, NAME_FIELDS, csv_row, jsonl_line, named_ids, seal_line
from ledger.postgres.connection import Connection
from ledger.postgres.history import MAX_POSITION, iter_events
from ledger.postgres.seals import stored_seals

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")


def export(
    conn: Connection,
    out: TextIO,
    fmt: Format = "jsonl",
    *,
    first_position: int = 0,
    last_position: int = MAX_POSITION,
    batch: int = 1000,
) -> int:
    """Write the finished events with first <= position <= last to `out`; return how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(FIELDS + NAME_FIELDS)
    directory: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
    seen: set[tuple[str, str]] = set()
    count = 0
    events = iter(iter_events(conn, first_position=first_position, last_position=last_position, batch=batch))
    while chunk := list(islice(events, batch)):
        _learn_names(conn, chunk, directory, seen)
        for event in chunk:
            if writer is not None:
                writer.writerow(csv_row(event, directory))
            else:
                out.write(jsonl_line(event, directory))
        count += len(chunk)
    return count


def _learn_names(
    conn: Connection,
    events: Iterable[Any],
    directory: dict[str, dict[str, dict[str, Any]]],
    seen: set[tuple[str, str]],
) -> None:
    """Add to `directory` the names of the ids these events name that no earlier batch looked up."""
    wanted: dict[str, set[UUID]] = {kind: set() for kind in KINDS}
    for event in events:
        for kind, ids in named_ids(event.payload).items():
            for text in ids:
                if (kind, text) not in seen:
                    seen.add((kind, text))
                    with contextlib.suppress(ValueError):  # not an id: nothing to name
                        wanted[kind].add(UUID(text))
    if not any(wanted.values()):
        return
    found = lookup(conn, wanted["parts"], wanted["warehouses"], wanted["organizations"])
    for id_, part in found.parts.items():
        directory["parts"][str(id_)] = {
            "part_number": part.part_number,
            "part_name": part.part_name,
            "unit_of_measure": part.unit_of_measure,
        }
    for id_, warehouse in found.warehouses.items():
        directory["warehouses"][str(id_)] = {
            "warehouse_name": warehouse.warehouse_name,
            "organization_id": str(warehouse.organization_id),
        }
    for id_, name in found.organizations.items():
        directory["organizations"][str(id_)] = {"organization_name": name}


def export_seals(conn: Connection, out: TextIO) -> int:
    """Write every seal as a JSON line of its own; return how many.

    Called before `export` of the whole log: the seals are read before the events' horizon is
    taken, so each covers only events that export writes.
    """
    sealed = stored_seals(conn)
    for s in sealed:
        out.write(seal_line(s.number, s.after, s.through, s.event_count, s.previous_digest, s.digest))
    return len(sealed)


@contextlib.contextmanager
def _destination(output: Path | None) -> Iterator[TextIO]:
    """stdout, or FILE written beside itself and renamed into place only once complete."""
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def _refusal(args: argparse.Namespace, first: int, last: int) -> str | None:
    """Why these arguments cannot make an export, or None."""
    if first > last:
        return f"--from {first} is after --to {last}"
    whole_log = args.from_position is None and args.to_position is None
    if args.seals and (args.format != "jsonl" or not whole_log):
        return "--seals needs --format jsonl and the whole log (no --from/--to)"
    return None


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    resolve_database: Callable[[Settings], str],
) -> None:
    """Add `abparts export` to `sub`; its handler connects to resolve_database(settings)."""

    def handler(settings: Settings, args: argparse.Namespace) -> int:
        import psycopg

        first = 0 if args.from_position is None else args.from_position
        last = MAX_POSITION if args.to_position is None else args.to_position
        if (refusal := _refusal(args, first, last)) is not None:
            print(f"abparts export: error: {refusal}", file=sys.stderr)
            return 2
        url = resolve_database(settings)
        with psycopg.connect(url, autocommit=True) as conn, _destination(args.output) as out:
            if args.seals:
                export_seals(conn, out)
            count = export(conn, out, args.format, first_position=first, last_position=last)
        if args.output is not None:
            print(f"exported {count} events to {args.output}", file=sys.stderr)
        return 0

    parser = sub.add_parser(
        "export",
        help="stream the ledger's finished events as JSON Lines or CSV, in commit-safe order",
        description=(
            "Write every event of finished transactions, in commit-safe (transaction, position) order,"
            " with its metadata and hash chain, for auditors."
        ),
    )
    parser.add_argument("--format", choices=FORMATS, required=True, help="jsonl: one JSON object a line")
    parser.add_argument(
        "--from", dest="from_position", type=non_negative, metavar="N", help="first position (inclusive)"
    )
    parser.add_argument(
        "--to", dest="to_position", type=non_negative, metavar="M", help="last position (inclusive)"
    )
    parser.add_argument(
        "--seals",
        action="store_true",
        help="write every seal first, as records of their own, so `abparts audit --file` checks them too",
    )
    parser.add_argument("--output", type=Path, metavar="FILE", help="write here instead of stdout")
    parser.set_defaults(func=handler)
