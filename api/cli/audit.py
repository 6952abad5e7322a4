"""`abparts seal`, `audit` and `verify`: the auditors' commands (tamper evidence and replay checks).

Each prints lines for a person, or with --json one document (its keys are listed in the README).
`audit --file` checks an export with no database at all (`api.cli.audit_file`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli.common import Commands, json_argument, names_argument, print_json
from api.runtime.database import checked_database
from api.runtime.settings import Settings

if TYPE_CHECKING:
    from projections.tools.verify import VerifyReport


def seal(settings: Settings, args: argparse.Namespace) -> int:
    """Roll the log's new events into seals."""
    import psycopg

    from ledger.postgres.seals import seal as seal_log

    sealed = []
    with psycopg.connect(checked_database(settings), autocommit=True) as conn:
        while (new := seal_log(conn)) is not None:
            sealed.append(new)
            if not args.json:
                print(f"seal {new.number}: {new.event_count} events through position {new.through.position}")
    if args.json:
        print_json(
            {
                "seals": [
                    {
                        "seal_number": s.number,
                        "event_count": s.event_count,
                        "through_transaction_id": s.through.transaction_id,
                        "through_position": s.through.position,
                        "digest": s.digest.hex(),
                    }
                    for s in sealed
                ]
            }
        )
    elif not sealed:
        print("nothing new to seal")
    return 0


def audit(settings: Settings, args: argparse.Namespace) -> int:
    """Recompute every hash chain and seal, of the database or of an export file; 1 on any problem.

    A run against the database is kept in `check_runs` (the ledger page shows the latest).
    """
    if args.file is not None:
        return _audit_file(args.file, args.json, args.partial)
    import psycopg

    from api.runtime import check_runs
    from ledger.postgres.seals import audit as audit_log

    started = datetime.now(UTC)
    with psycopg.connect(checked_database(settings), autocommit=True) as conn:
        report = audit_log(conn)
        document = {
            "ok": report.ok,
            "source": "database",
            "events_checked": report.events_checked,
            "streams_checked": report.streams_checked,
            "seals_checked": report.seals_checked,
            "problems": report.problems,
        }
        checked = (
            f"checked {report.events_checked} events in {report.streams_checked} streams"
            f" and {report.seals_checked} seals"
        )
        outcome = "OK" if report.ok else f"FAILED: {len(report.problems)} problems"
        check_runs.record(conn, "audit", started, report.ok, f"{checked}: {outcome}", document)
    if args.json:
        print_json(document)
        return 0 if report.ok else 1
    print(checked)
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    print("OK: every hash chain and seal holds" if report.ok else f"FAILED: {len(report.problems)} problems")
    return 0 if report.ok else 1


def _audit_file(path: Path, as_json: bool, partial: bool) -> int:
    from api.cli.audit_file import audit_lines

    try:
        with path.open(encoding="utf-8") as lines:
            report = audit_lines(lines, partial=partial)
    except (OSError, UnicodeDecodeError) as error:
        print(f"abparts audit: error: cannot read {path}: {error}", file=sys.stderr)
        return 2
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "source": str(path),
                "events_checked": report.events_checked,
                "streams_checked": report.streams_checked,
                "seals_checked": report.seals_checked,
                "problems": report.problems,
                "first_position": report.first_position,
                "last_position": report.last_position,
                "gaps": report.gaps,
            }
        )
        return 0 if report.ok else 1
    span = f" (positions {report.first_position}-{report.last_position})" if report.events_checked else ""
    print(
        f"checked {report.events_checked} events in {report.streams_checked} streams"
        f" and {report.seals_checked} seals from {path}{span}"
    )
    for gap in report.gaps:
        print(f"GAP position {gap} not in the file (a rolled-back transaction leaves gaps too)")
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    print(
        "OK: every hash, chain and seal in the file holds"
        if report.ok
        else f"FAILED: {len(report.problems)} problems"
    )
    return 0 if report.ok else 1


def verify(settings: Settings, args: argparse.Namespace) -> int:
    """Recompute projections from the log and compare with the live tables; 1 on any difference.

    Each run is kept in `check_runs` (the ledger page shows the latest).
    """
    import psycopg

    from api.runtime import check_runs
    from projections.registry import select
    from projections.tools.verify import verify as verify_projections

    started = datetime.now(UTC)
    with psycopg.connect(checked_database(settings), autocommit=True) as conn:
        report = verify_projections(conn, select(args.names))
        document = {
            "ok": report.ok,
            "events_checked": report.events_checked,
            "checkpoints": {name: place.position for name, place in report.checkpoints.items()},
            "differences": [
                {
                    "table": d.table,
                    "only_live": d.only_live,
                    "only_recomputed": d.only_recomputed,
                    "sample_keys": list(d.sample_keys),
                }
                for d in report.differences
            ],
            "problems": report.problems,
        }
        summary = f"{len(report.checkpoints)} projections, {report.events_checked} events: " + (
            "OK"
            if report.ok
            else f"FAILED: {len(report.differences)} differences, {len(report.problems)} problems"
        )
        check_runs.record(conn, "verify", started, report.ok, summary, document)
    if args.json:
        print_json(document)
        return 0 if report.ok else 1
    _print_verify(report)
    return 0 if report.ok else 1


def _print_verify(report: VerifyReport) -> None:
    for name, place in report.checkpoints.items():
        print(f"{name}: recomputed up to position {place.position}")
    for d in report.differences:
        print(
            f"DIFFERENCE {d.table}: {d.only_live} rows only in the live table, "
            f"{d.only_recomputed} only in the recomputed one; keys {', '.join(d.sample_keys)}"
        )
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    print(f"hash chains: {report.events_checked} events checked")
    print("OK: projections equal the log; every chain holds" if report.ok else "FAILED")


def register(sub: Commands) -> None:
    """Add this group's commands to `sub`."""
    parser = sub.add_parser("seal", help="digest the log's new events into seals (tamper evidence)")
    json_argument(parser)
    parser.set_defaults(func=seal)
    parser = sub.add_parser(
        "audit",
        help="check every hash chain and seal (or an export file: --file); exit 1 on a problem",
    )
    parser.add_argument(
        "--file",
        type=Path,
        metavar="EXPORT",
        help="check this `abparts export --format jsonl` file instead, without any database",
    )
    parser.add_argument(
        "--partial",
        action="store_true",
        help="with --file: the export was made with --from, so streams may begin before it",
    )
    json_argument(parser)
    parser.set_defaults(func=audit)
    parser = sub.add_parser(
        "verify", help="recompute projections from the log and compare; exit 1 on a difference"
    )
    names_argument(parser, "verify")
    json_argument(parser)
    parser.set_defaults(func=verify)
