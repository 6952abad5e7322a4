"""`abparts seal`, `audit` and `verify`: the auditors' commands (tamper evidence and replay checks)."""

from __future__ import annotations

import argparse

from api.cli.common import Commands, names_argument
from api.runtime.database import checked_database
from api.runtime.settings import Settings


def seal(settings: Settings, args: argparse.Namespace) -> int:
    """Roll the log's new events into seals."""
    import psycopg

    from ledger.postgres.seals import seal as seal_log

    sealed = 0
    with psycopg.connect(checked_database(settings), autocommit=True) as conn:
        while (new := seal_log(conn)) is not None:
            sealed += 1
            print(f"seal {new.number}: {new.event_count} events through position {new.through.position}")
    if not sealed:
        print("nothing new to seal")
    return 0


def audit(settings: Settings, args: argparse.Namespace) -> int:
    """Recompute every hash chain and seal; 1 on any problem."""
    import psycopg

    from ledger.postgres.seals import audit as audit_log

    with psycopg.connect(checked_database(settings), autocommit=True) as conn:
        report = audit_log(conn)
    print(
        f"checked {report.events_checked} events in {report.streams_checked} streams"
        f" and {report.seals_checked} seals"
    )
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    print("OK: every hash chain and seal holds" if report.ok else f"FAILED: {len(report.problems)} problems")
    return 0 if report.ok else 1


def verify(settings: Settings, args: argparse.Namespace) -> int:
    """Recompute projections from the log and compare with the live tables; 1 on any difference."""
    import psycopg

    from projections.registry import select
    from projections.tools.verify import verify as verify_projections

    with psycopg.connect(checked_database(settings), autocommit=True) as conn:
        report = verify_projections(conn, select(args.names))
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
    return 0 if report.ok else 1


def register(sub: Commands) -> None:
    """Add this group's commands to `sub`."""
    sub.add_parser("seal", help="digest the log's new events into seals (tamper evidence)").set_defaults(
        func=seal
    )
    sub.add_parser("audit", help="check every hash chain and seal; exit 1 on any problem").set_defaults(
        func=audit
    )
    parser = sub.add_parser(
        "verify", help="recompute projections from the log and compare; exit 1 on a difference"
    )
    names_argument(parser, "verify")
    parser.set_defaults(func=verify)
