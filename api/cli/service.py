"""`abparts serve`, `migrate`, `bootstrap` and `prune`: set up, run and look after the service.

serve, migrate and bootstrap (a set-up command) bring the schema to head first; prune only checks it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
from types import FrameType

from api.cli.common import Commands
from api.runtime.database import checked_database, ready_database
from api.runtime.settings import Settings


def serve(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate, then serve the HTTP API until SIGTERM or Ctrl-C (api/runtime/serving.py)."""
    from api.runtime.serving import serve as run

    url = ready_database(settings, migrate_it=True)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it with the handler found before it
    # started: by default that kills the process before its exit handlers run, and the embedded
    # PostgreSQL would outlive the service. Ours makes it a normal exit.
    signal.signal(signal.SIGTERM, _exit_normally)
    run(settings, url, args.host or settings.host, args.port or settings.port)
    return 0


def _exit_normally(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Bring the schema to the latest revision."""
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(ready_database(settings, migrate_it=True))
    print(f"database migrated to head (dbname={info.get('dbname')} host={info.get('host', 'localhost')})")
    return 0


def bootstrap(settings: Settings, args: argparse.Namespace) -> int:
    """Create Oraseas EE, BossAqua and a first super_admin, unless there is one already."""
    import psycopg

    from api.runtime.seed import NameTaken
    from api.runtime.seed import bootstrap as seed

    password = args.admin_password or os.environ.get("ABPARTS_ADMIN_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("abparts: give --admin-password or ABPARTS_ADMIN_PASSWORD", file=sys.stderr)
            return 2
        password = getpass.getpass("password for the first super_admin: ")
    if len(password) < 8:
        print("abparts: the password needs at least 8 characters", file=sys.stderr)
        return 2
    with psycopg.connect(ready_database(settings, migrate_it=True), autocommit=True) as conn:
        try:
            result = seed(conn, args.admin_username, args.admin_email, password)
        except NameTaken as error:
            print(f"abparts: {error}: give another --admin-username and --admin-email", file=sys.stderr)
            return 2
    already = f"nothing to do: already bootstrapped: super_admin {result.admin_username} exists"
    for line in result.created or (already,):
        print(line)
    return 0


def prune(settings: Settings, args: argparse.Namespace) -> int:
    """Forget Idempotency-Keys (HTTP answers and the ledger's keys) older than the retention."""
    import psycopg

    from api.http.middleware.idempotency_retention import prune as forget

    with psycopg.connect(checked_database(settings), autocommit=True) as conn:
        pruned = forget(conn, settings.idempotency_retention)
    print(
        f"forgot {pruned.answers} HTTP answers and {pruned.commands} ledger keys"
        f" older than {settings.idempotency_retention}"
    )
    return 0


def register(sub: Commands) -> None:
    """Add this group's commands to `sub`."""
    parser = sub.add_parser("serve", help="migrate, then serve the HTTP API")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.set_defaults(func=serve)
    sub.add_parser("migrate", help="bring the database schema to the latest revision").set_defaults(
        func=migrate
    )
    parser = sub.add_parser("bootstrap", help="create Oraseas EE, BossAqua, a first super_admin (idempotent)")
    parser.add_argument("--admin-username", required=True)
    parser.add_argument("--admin-email", required=True)
    parser.add_argument("--admin-password", help="default: ABPARTS_ADMIN_PASSWORD, else a prompt")
    parser.set_defaults(func=bootstrap)
    sub.add_parser(
        "prune", help="forget Idempotency-Keys older than ABPARTS_IDEMPOTENCY_RETENTION (default 24 h)"
    ).set_defaults(func=prune)
