"""The `abparts` command line: serve the API, migrate the database, seal and audit the log."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from api.settings import Settings


def resolve_database(settings: Settings) -> str:
    """Return the database URL to use: DATABASE_URL, or an embedded server, ready and migrated."""
    from api.database import migrate, start_embedded, wait_for_database

    url = settings.database_url or start_embedded(settings.pgdata_dir, stop_at_exit=True)
    wait_for_database(url)
    migrate(url)
    return url


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    url = resolve_database(settings)
    app = create_app(settings, url)
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port)
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    url = resolve_database(settings)
    print(f"database migrated to head ({_redact(url)})")
    return 0


def _seal(settings: Settings, args: argparse.Namespace) -> int:
    import psycopg

    from ledger.postgres.seals import seal

    url = resolve_database(settings)
    sealed = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while (new := seal(conn)) is not None:
            sealed += 1
            print(f"seal {new.number}: {new.event_count} events through position {new.through.position}")
    if not sealed:
        print("nothing new to seal")
    return 0


def _audit(settings: Settings, args: argparse.Namespace) -> int:
    import psycopg

    from ledger.postgres.seals import audit

    url = resolve_database(settings)
    with psycopg.connect(url, autocommit=True) as conn:
        report = audit(conn)
    print(
        f"checked {report.events_checked} events in {report.streams_checked} streams"
        f" and {report.seals_checked} seals"
    )
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    print("OK: every hash chain and seal holds" if report.ok else f"FAILED: {len(report.problems)} problems")
    return 0 if report.ok else 1


def _redact(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    return f"dbname={info.get('dbname')} host={info.get('host', 'localhost')}"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every `abparts` subcommand."""
    parser = argparse.ArgumentParser(prog="abparts", description="ABParts Ledger service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, then serve the HTTP API")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema to the latest revision")
    migrate.set_defaults(func=_migrate)

    seal = sub.add_parser("seal", help="digest the log's new events into seals (tamper evidence)")
    seal.set_defaults(func=_seal)

    audit = sub.add_parser("audit", help="check every hash chain and seal; exit 1 on any problem")
    audit.set_defaults(func=_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `abparts` subcommand and return its exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    settings = Settings()
    status: int = args.func(settings, args)
    return status


if __name__ == "__main__":
    sys.exit(main())
