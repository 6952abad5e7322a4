"""The benchmark's databases: a server (DATABASE_URL or a throw-away embedded one), fresh databases."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from api.runtime.database import migrate, start_embedded, wait_for_database


def server_url() -> str:
    """DATABASE_URL when set, else a new embedded server in a temporary directory (stopped at exit)."""
    url = os.environ.get("DATABASE_URL") or os.environ.get("ABPARTS_DATABASE_URL")
    if not url:
        pgdata = Path(tempfile.mkdtemp(prefix="abparts-bench-")) / "pgdata"
        url = start_embedded(pgdata, stop_at_exit=True)
    wait_for_database(url)
    return url


def create_database(url: str) -> str:
    """Create and migrate a fresh database on the server of `url`; return its URL."""
    name = f"abparts_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database = make_conninfo(url, dbname=name)
    migrate(database)
    return database


def drop_database(url: str, database: str) -> None:
    """Drop the database `database` (a URL) from the server of `url`."""
    name = str(conninfo_to_dict(database)["dbname"])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def describe(url: str) -> str:
    """The URL without its password, for reports."""
    parts = conninfo_to_dict(url)
    return f"postgresql://{parts.get('user', '')}@{parts.get('host', '')}:{parts.get('port', '')}"
