"""The `abparts` command line: serve, migrate, run and rebuild projections, and the auditors' commands."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from api import cli_export, cli_repair, cli_stock
from api.database import SchemaNotCurrent
from api.logs import configure as configure_logging
from api.settings import Settings
from projections.registry import UnknownProjection


def resolve_database(settings: Settings) -> str:
    """The database URL (DATABASE_URL, or an embedded server), ready and migrated.

    Only serve, migrate, project and bootstrap (a set-up command) may change the schema.
    """
    from api.database import migrate

    url = _find_database(settings)
    migrate(url)
    return url


def current_database(settings: Settings) -> str:
    """The database URL, ready; SchemaNotCurrent unless its schema is at head (nothing is migrated).

    The other commands read, or write data only: an outdated schema is said, not migrated behind one's back.
    """
    from api.database import require_current_schema

    url = _find_database(settings)
    require_current_schema(url)
    return url


def _find_database(settings: Settings) -> str:
    from api.database import start_embedded, wait_for_database

    url = settings.database_url or start_embedded(settings.pgdata_dir, stop_at_exit=True)
    wait_for_database(url)
    return url


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    url = resolve_database(settings)
    app = create_app(settings, url)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it with the handler found before it
    # started: by default that kills the process before its exit handlers run, and the embedded
    # PostgreSQL would outlive the service. Ours makes it a normal exit.
    signal.signal(signal.SIGTERM, _exit_normally)
    # Our own JSON lines (with request ids) replace uvicorn's logging config and access log.
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
    )
    return 0


def _exit_normally(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    url = resolve_database(settings)
    print(f"database migrated to head ({_redact(url)})")
    return 0


def _seal(settings: Settings, args: argparse.Namespace) -> int:
    import psycopg

    from ledger.postgres.seals import seal

    url = current_database(settings)
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

    url = current_database(settings)
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


def _project(settings: Settings, args: argparse.Namespace) -> int:
    import signal
    import threading

    from projections.registry import select
    from projections.wakeup import Listener
    from projections.worker import ProjectorHub

    url = resolve_database(settings)
    hub = ProjectorHub(
        url,
        select(args.names),
        batch_size=settings.projector_batch_size,
        poll_interval=settings.projector_poll_interval,
        min_interval=settings.projector_min_interval,
        snapshot_interval=settings.snapshot_interval,
    )
    stop = hub.stop_event
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    hub.start()
    listener = threading.Thread(target=Listener(url, hub.wake, stop).run, name="listener", daemon=True)
    listener.start()
    print(f"projecting {', '.join(w.projection.name for w in hub.workers)}; Ctrl-C to stop", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    hub.stop()
    return 0


def _rebuild(settings: Settings, args: argparse.Namespace) -> int:
    import psycopg

    from projections.rebuild import rebuild
    from projections.registry import select

    url = current_database(settings)
    projections = select(args.names)
    with psycopg.connect(url, autocommit=True) as conn:
        result = rebuild(conn, projections, sys.stdout, batch_size=args.batch_size)
    print(f"rebuilt {', '.join(result.projections)} from {result.events} events and swapped them in")
    return 0


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    import psycopg

    from projections.registry import select
    from projections.verify import verify

    url = current_database(settings)
    with psycopg.connect(url, autocommit=True) as conn:
        report = verify(conn, select(args.names))
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


def _status(settings: Settings, args: argparse.Namespace) -> int:
    import psycopg

    from projections.registry import ALL
    from projections.status import status

    url = current_database(settings)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = status(conn, ALL)
    print(f"{'projection':<24}{'position':>12}{'applied':>12}{'lag':>10}{'lag s':>10}  worker")
    for r in rows:
        print(
            f"{r.name:<24}{r.position:>12}{r.events_applied:>12}{r.lag_events:>10}{r.lag_seconds:>10.1f}"
            f"  {'active' if r.worker_active else '-'}"
        )
    return 0


def _prune(settings: Settings, args: argparse.Namespace) -> int:
    import psycopg

    from api.idempotency_retention import prune

    url = resolve_database(settings)
    with psycopg.connect(url, autocommit=True) as conn:
        pruned = prune(conn, settings.idempotency_retention)
    print(
        f"forgot {pruned.answers} HTTP answers and {pruned.commands} ledger keys"
        f" older than {settings.idempotency_retention}"
    )
    return 0


def _bootstrap(settings: Settings, args: argparse.Namespace) -> int:
    import getpass
    import os

    import psycopg

    from api.bootstrap import bootstrap

    password = args.admin_password or os.environ.get("ABPARTS_ADMIN_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("abparts: give --admin-password or ABPARTS_ADMIN_PASSWORD", file=sys.stderr)
            return 2
        password = getpass.getpass("password for the first super_admin: ")
    if len(password) < 8:
        print("abparts: the password needs at least 8 characters", file=sys.stderr)
        return 2
    url = resolve_database(settings)
    with psycopg.connect(url, autocommit=True) as conn:
        result = bootstrap(conn, args.admin_username, args.admin_email, password)
    already = f"nothing to do: already bootstrapped: super_admin {result.admin_username} exists"
    for line in result.created or (already,):
        print(line)
    return 0


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

    project = sub.add_parser("project", help="run the projector workers in the foreground")
    project.add_argument("names", nargs="*", metavar="NAME", help="projections to run (default: all)")
    project.set_defaults(func=_project)

    rebuild = sub.add_parser("rebuild", help="rebuild projections from the log and swap them in atomically")
    rebuild.add_argument("names", nargs="*", metavar="NAME", help="projections to rebuild (default: all)")
    rebuild.add_argument("--batch-size", type=int, default=50_000)
    rebuild.set_defaults(func=_rebuild)

    verify = sub.add_parser(
        "verify", help="recompute projections from the log and compare; exit 1 on a difference"
    )
    verify.add_argument("names", nargs="*", metavar="NAME", help="projections to verify (default: all)")
    verify.set_defaults(func=_verify)

    status = sub.add_parser("status", help="each projection's position and lag")
    status.set_defaults(func=_status)

    prune = sub.add_parser(
        "prune", help="forget Idempotency-Keys older than ABPARTS_IDEMPOTENCY_RETENTION (default 24 h)"
    )
    prune.set_defaults(func=_prune)

    boot = sub.add_parser("bootstrap", help="create Oraseas EE, BossAqua, a first super_admin (idempotent)")
    boot.add_argument("--admin-username", required=True)
    boot.add_argument("--admin-email", required=True)
    boot.add_argument("--admin-password", help="default: ABPARTS_ADMIN_PASSWORD, else a prompt")
    boot.set_defaults(func=_bootstrap)

    cli_export.register(sub, current_database)
    cli_stock.register(sub, current_database)
    cli_repair.register(sub, current_database)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `abparts` subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(json_lines=settings.log_json and args.func in (_serve, _project))
    try:
        status: int = args.func(settings, args)
    except (UnknownProjection, SchemaNotCurrent) as error:
        print(f"abparts: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
