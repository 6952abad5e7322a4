"""The embedded PostgreSQL: created WAL segments are not zero-filled first (commits waited on it)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest

from api.runtime.database import start_embedded

pytestmark = pytest.mark.db


def test_an_embedded_server_creates_wal_segments_without_zeroing_them() -> None:
    pgdata = Path(tempfile.mkdtemp(prefix="abparts-test-wal-")) / "pgdata"
    url = start_embedded(pgdata, stop_at_exit=True, delete_at_exit=True)
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SHOW wal_init_zero").fetchone() == ("off",)
        # Kept in the data directory's own configuration: a restart keeps it.
        row = conn.execute("SELECT setting, source FROM pg_settings WHERE name = 'wal_init_zero'").fetchone()
        assert row == ("off", "configuration file")
