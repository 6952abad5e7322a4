"""The real service for the HTTP benchmarks: bootstrap, prime, start (serve or workers), sign in, stop."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg.conninfo import conninfo_to_dict

from ledger.commands import CreateStock
from ledger.policy import Limits, Policy
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata

ADMIN = "benchadmin"
PASSWORD = "bench-password-1"
BIN = Path(sys.executable).parent


def as_url(database: str) -> str:
    """A postgresql:// URL for a conninfo string (the settings accept URLs only)."""
    if database.startswith(("postgresql://", "postgres://")):
        return database
    parts = {k: str(v) for k, v in conninfo_to_dict(database).items() if v is not None}
    user = urllib.parse.quote(parts.pop("user", ""))
    password = parts.pop("password", None)
    name = urllib.parse.quote(parts.pop("dbname", ""))
    auth = f"{user}:{urllib.parse.quote(password)}@" if password else (f"{user}@" if user else "")
    return f"postgresql://{auth}/{name}?{urllib.parse.urlencode(parts)}"


def service_env(database: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the service: its database, plain logs, the caps raised out of the way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABPARTS_")}
    env |= {
        "DATABASE_URL": as_url(database),
        "ABPARTS_LOG_JSON": "false",
        "ABPARTS_MAX_TRANSACTIONS_PER_YEAR": str(10**9),
        "ABPARTS_MAX_CUSTOMERS": "100000",
        "ABPARTS_MAX_USERS": "100000",
        "ABPARTS_MAX_PARTS": "100000",
        "ABPARTS_MAX_WAREHOUSES": "100000",
        "ABPARTS_MAX_MACHINES": "100000",
        # It cannot be unset from the environment (unset means the 10,000.00 default): very high instead.
        "ABPARTS_APPROVAL_VALUE_THRESHOLD": "1000000000000",
    }
    return env | (extra or {})


def bootstrap(database: str) -> None:
    """`abparts bootstrap` (which migrates first): the fixed organizations and a super_admin."""
    subprocess.run(
        [
            str(BIN / "abparts"),
            "bootstrap",
            "--admin-username",
            ADMIN,
            "--admin-email",
            "bench@example.com",
            "--admin-password",
            PASSWORD,
        ],
        env=service_env(database),
        check=True,
        capture_output=True,
    )


def prime(database: str, user_id: UUID, pairs: Sequence[tuple[UUID, UUID]]) -> None:
    """One creation of a piece into each (warehouse, part) of `pairs`, through the ledger, unmeasured.

    A pair's first movement also creates its stock level and, projected, its inventory row: the
    phases measure movements of pairs that hold stock, not that one-off (at 1 connection the first
    POST phase, which made all 3,000 of them, ran at 427 req/s against 539 in the next repeat).
    """
    ledger = PostgresLedger(Policy(limits=Limits(transactions_per_year=10**9), approval_value_threshold=None))
    metadata = CommandMetadata(performed_by_user_id=user_id)
    commands = [CreateStock(part_id=p, to_warehouse_id=w, quantity=Decimal(1)) for w, p in pairs]
    with psycopg.connect(database, autocommit=True) as conn:
        for start in range(0, len(commands), 100):
            for outcome in ledger.execute_batch(conn, [(c, metadata) for c in commands[start : start + 100]]):
                if isinstance(outcome, Exception):
                    raise outcome


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """One running server process (and its workers), its port and its log file.

    `floor` serves bench/floor.py's bare app instead, with the same uvicorn options (no database use,
    no sign-in: its `path` is `/`).
    """

    def __init__(self, database: str, extra: dict[str, str] | None = None, *, floor: bool = False) -> None:
        self.port = free_port()
        self.floor = floor
        self.projector: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="abparts-bench-server-", suffix=".log")[1])
        if floor:
            argv = [sys.executable, "-m", "bench.floor", "--port", str(self.port)]
            self.name = "framework floor (bare FastAPI)"
        else:
            argv = [str(BIN / "abparts"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
            self.name = "abparts serve"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(argv, env=service_env(database, extra), stdout=out, stderr=out)
        self.wait_healthy()
        self.token = "" if floor else self.sign_in()

    def wait_healthy(self, timeout: float = 120.0) -> None:
        """Until GET /health answers 200 (or the process died, or the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.process.returncode}; see {self.log}")
            try:
                if self.request("GET", "/" if self.floor else "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy within {timeout:g} s; see {self.log}")

    def connection(self) -> http.client.HTTPConnection:
        """A keep-alive connection to the server."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        conn: http.client.HTTPConnection | None = None,
        form: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One request (JSON body or form); the status and the decoded JSON answer."""
        own = conn is None
        conn = conn or self.connection()
        headers = {}
        data: bytes | None = None
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            if own:
                conn.close()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")

    def sign_in(self) -> str:
        """POST /token as the bootstrap admin: the bearer token."""
        status, answer = self.request("POST", "/token", form={"username": ADMIN, "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"sign-in failed: {status} {answer}")
        return str(answer["access_token"])

    def cpu_seconds(self) -> float | None:
        """CPU seconds of the server and its workers so far."""
        from bench.common import tree_cpu_seconds

        return tree_cpu_seconds(self.process.pid)

    def rss_bytes(self) -> int:
        """Resident memory of the server and its workers."""
        from bench.common import tree_rss_bytes

        return tree_rss_bytes(self.process.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s (the server and the projector process, if any)."""
        for process in (self.process, self.projector):
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run bench/loadgen.py in a process of its own with `spec`; its JSON result."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=spec["seconds"] + spec.get("warmup", 1.0) + 120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result
