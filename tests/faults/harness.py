"""Machinery of the fault tests: the service as real processes, a retrying client load, and the checks.

Everything listens on and connects to loopback only. Every process started here
is registered with a `Processes` owner whose finalizer kills what is left, so a
failing test leaves no server behind. Loads are bounded in commands and in time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx2 as httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

from ledger.postgres.connection import Connection
from projections.registry import ALL

ABPARTS = Path(sys.executable).with_name("abparts")
ADMIN = "faults-admin"
Conn = Connection  # the one connection type, under the short name the fault tests import
ADMIN_PASSWORD = "faults-password-1"
LOOPBACK = "127.0.0.1"


def subprocess_url(conninfo: str, dbname: str | None = None) -> str:
    """The `postgresql://` URL the service's settings accept, for a conninfo or URL (socket hosts too)."""
    info = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v not in (None, "")}
    dbname = dbname or info.pop("dbname", "postgres")
    info.pop("dbname", None)
    return f"postgresql:///{quote(dbname, safe='')}?{urlencode(sorted(info.items()))}"


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def service_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a service process: only this database, plain logs, fast polling, high caps."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABPARTS_") and k != "DATABASE_URL"}
    env |= {
        "DATABASE_URL": database_url,
        "ABPARTS_LOG_JSON": "false",
        "ABPARTS_PROJECTOR_POLL_INTERVAL": "0.1",
        "ABPARTS_MAX_TRANSACTIONS_PER_YEAR": "1000000",
        "ABPARTS_POOL_SIZE": "8",
    }
    return env | overrides


@dataclass
class Service:
    """One running `abparts` process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    base_url: str | None = None

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill9(self) -> None:
        """SIGKILL: no handler runs, no transaction is committed or rolled back by the process itself."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class Processes:
    """Starts `abparts` processes and guarantees they are all gone when the test ends."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[Service] = []
        self._count = 0

    def start(self, name: str, args: Sequence[str], env: dict[str, str]) -> Service:
        self._count += 1
        log = self.workdir / f"{self._count:02d}-{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(ABPARTS), *args],
                env=env,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test run does not reach it; the finalizer does
            )
        service = Service(name, process, log)
        self.started.append(service)
        return service

    def run(self, name: str, args: Sequence[str], env: dict[str, str], timeout: float = 60) -> Service:
        """Run a command to its end (bounded); the service's process has its exit code."""
        service = self.start(name, args, env)
        try:
            service.process.wait(timeout)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait(10)
            raise AssertionError(f"{name} did not finish in {timeout} s:\n{service.tail()}") from None
        return service

    def api(self, database_url: str, port: int | None = None, *, wait: bool = True, **env: str) -> Service:
        """`abparts serve` on a loopback port, once it answers /health (unless `wait` is false)."""
        port = port or free_port()
        args = ["serve", "--host", LOOPBACK, "--port", str(port)]
        service = self.start(f"api-{port}", args, service_env(database_url, **env))
        service.base_url = f"http://{LOOPBACK}:{port}"
        if wait:
            wait_for_health(service)
        return service

    def projector(self, database_url: str, **env: str) -> Service:
        """`abparts project`: every projection's worker in a process of its own."""
        service = self.start("project", ["project"], service_env(database_url, **env))
        eventually(lambda: "projecting" in service.tail() or not service.alive(), 30, "projector start")
        assert service.alive(), f"abparts project exited:\n{service.tail()}"
        return service

    def stop_all(self) -> None:
        for service in self.started:
            if service.alive():
                with suppress(ProcessLookupError):  # the whole group: the process and any child
                    os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait(10)


def eventually(condition: Callable[[], bool], timeout: float, what: str, pause: float = 0.05) -> None:
    """Wait (bounded) until `condition` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout} s")
        time.sleep(pause)


def wait_for_health(service: Service, timeout: float = 45) -> None:
    """Wait until the API process serves GET /health (it migrates first), failing fast if it exits."""
    assert service.base_url is not None
    deadline = time.monotonic() + timeout
    while True:
        assert service.alive(), f"{service.name} exited with {service.process.returncode}:\n{service.tail()}"
        try:
            if httpx.get(f"{service.base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{service.name} not healthy in {timeout} s:\n{service.tail()}"
        time.sleep(0.1)


def bootstrap(processes: Processes, database_url: str, *, migrate: bool = False) -> None:
    """`abparts migrate` (if asked: bootstrap migrates anyway), then `abparts bootstrap` of the admin."""
    env = service_env(database_url)
    admin = [
        "--admin-username",
        ADMIN,
        "--admin-email",
        f"{ADMIN}@example.com",
        "--admin-password",
        ADMIN_PASSWORD,
    ]
    steps = [("migrate", ["migrate"])] if migrate else []
    for name, args in [*steps, ("bootstrap", ["bootstrap", *admin])]:
        done = processes.run(name, args, env)
        assert done.process.returncode == 0, f"abparts {name} failed:\n{done.tail()}"


@dataclass(frozen=True)
class Site:
    """Reference rows the load moves stock with: a customer's warehouse and an unpriced part."""

    organization_id: uuid.UUID
    warehouse_id: uuid.UUID
    part_id: uuid.UUID


def make_site(conn: Conn) -> Site:
    """Insert a customer organization, its warehouse and a part without price (nothing waits for approval)."""
    tag = uuid.uuid4().hex[:10]
    org = conn.execute(
        "INSERT INTO organizations (name, organization_type, parent_organization_id)"
        " VALUES (%s, 'customer', NULL) RETURNING id",
        [f"faults-{tag}"],
    ).fetchone()
    assert org is not None
    warehouse = conn.execute(
        "INSERT INTO warehouses (organization_id, name) VALUES (%s, %s) RETURNING id", [org[0], f"wh-{tag}"]
    ).fetchone()
    assert warehouse is not None
    part = conn.execute(
        "INSERT INTO parts (part_number, name, part_type, unit_of_measure, unit_price)"
        " VALUES (%s, 'fault part', 'consumable', 'pieces', NULL) RETURNING id",
        [f"F-{tag}"],
    ).fetchone()
    assert part is not None
    return Site(org[0], warehouse[0], part[0])


def sign_in(base_url: str) -> dict[str, str]:
    """The admin's bearer header."""
    response = httpx.post(
        f"{base_url}/token", data={"username": ADMIN, "password": ADMIN_PASSWORD}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class Attempt:
    """One HTTP attempt of a command: its outcome and how long it took."""

    key: str
    status: int | None  # None: no answer (connection refused or reset, timeout)
    seconds: float
    ended: float  # time.monotonic() when it ended
    error: str | None = None
    code: str | None = None
    retry_after: str | None = None


@dataclass
class Acknowledged:
    """A command the client saw answered 201: its transaction id and ledger position."""

    key: str
    transaction_id: str
    position: int
    replay: bool


@dataclass
class Load:
    """A bounded load of creation commands from a few client threads, each retried with its own key.

    A command is retried with the same Idempotency-Key until it is acknowledged
    (201) or the load's deadline passes: that is the client's contract. Every
    attempt is recorded. `targets` are API base URLs; thread i uses targets[i % n]
    and moves on to the next target when one does not answer.
    """

    targets: Callable[[], Sequence[str]]
    headers: dict[str, str]
    site: Site
    commands: int = 300
    threads: int = 4
    deadline_seconds: float = 90.0
    client_timeout: float = 10.0
    attempts: list[Attempt] = field(default_factory=list)
    acknowledged: dict[str, Acknowledged] = field(default_factory=dict)
    unfinished: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def acked(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def start(self) -> Load:
        self._deadline = time.monotonic() + self.deadline_seconds
        for i in range(self.threads):
            thread = threading.Thread(target=self._work, args=(i,), name=f"load-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def join(self) -> None:
        for thread in self._threads:
            thread.join(self.deadline_seconds + self.client_timeout + 5)
        assert not any(t.is_alive() for t in self._threads), "a load thread did not stop"

    def stop(self) -> None:
        self._stop.set()

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= self.commands:
                return None
            self._next += 1
            return self._next

    def _work(self, index: int) -> None:
        with httpx.Client(timeout=self.client_timeout, headers=self.headers) as client:
            target = index
            while not self._stop.is_set() and (n := self._take()) is not None:
                key = f"faults-{n}-{uuid.uuid4().hex}"
                body = {
                    "transaction_type": "creation",
                    "part_id": str(self.site.part_id),
                    "to_warehouse_id": str(self.site.warehouse_id),
                    "quantity": "1",
                    "notes": f"fault load {n}",
                }
                while True:
                    if time.monotonic() > self._deadline or self._stop.is_set():
                        with self._lock:
                            self.unfinished.append(key)
                        return
                    urls = self.targets()
                    url = urls[target % len(urls)]
                    attempt, ack = self._post(client, url, key, body)
                    with self._lock:
                        self.attempts.append(attempt)
                        if ack is not None:
                            self.acknowledged[key] = ack
                    if ack is not None:
                        break
                    if attempt.status is None:
                        target += 1  # that API does not answer: try the next one (if any)
                    time.sleep(0.2 if attempt.status is None else 0.1)

    def _post(
        self, client: httpx.Client, url: str, key: str, body: dict[str, str]
    ) -> tuple[Attempt, Acknowledged | None]:
        started = time.monotonic()
        try:
            response = client.post(f"{url}/transactions", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError as error:
            ended = time.monotonic()
            return Attempt(key, None, ended - started, ended, error=type(error).__name__), None
        ended = time.monotonic()
        code = None
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            code = response.json().get("code")
        retry_after = response.headers.get("retry-after")
        attempt = Attempt(
            key, response.status_code, ended - started, ended, code=code, retry_after=retry_after
        )
        if response.status_code != 201:
            return attempt, None
        data = response.json()
        ack = Acknowledged(
            key,
            data["transactions"][0]["id"],
            int(data["position"]),
            response.headers.get("idempotent-replay") == "true",
        )
        return attempt, ack

    def statuses(self) -> dict[int | None, int]:
        """How many attempts ended with each status (None: no answer)."""
        return dict(Counter(a.status for a in self.attempts))

    def outcomes(self) -> dict[str, int]:
        """How many attempts ended each way: status and problem code, or the client's error."""
        return dict(
            Counter(f"{a.status} {a.code or ''}".strip() if a.status else str(a.error) for a in self.attempts)
        )

    def summary(self) -> str:
        return (
            f"{len(self.acknowledged)}/{self.commands} acknowledged, {len(self.unfinished)} unfinished,"
            f" {len(self.attempts)} attempts: {self.outcomes()}"
        )


def warm_up(conn: Conn, base_url: str, headers: dict[str, str], site: Site) -> int:
    """One command, projected before the load starts; the number of events it added (1).

    The load then never creates the site's inventory row: which batch creates it
    decides its `created_at` (see test_late_commit_keeps_the_earliest_created_at),
    a defect of its own that the load tests are not about.
    """
    body = {
        "transaction_type": "creation",
        "part_id": str(site.part_id),
        "to_warehouse_id": str(site.warehouse_id),
        "quantity": "1",
    }
    response = httpx.post(f"{base_url}/transactions", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    wait_until_caught_up(conn)
    return 1


# The middleware's key of each ledger key `<user id>:<key>`: sha256('user:' || user id, NUL, key).
LEDGER_ANSWERED = """
SELECT sha256(convert_to('user:' || split_part(key, ':', 1), 'UTF8') || '\\x00'::bytea
    || convert_to(substr(key, 38), 'UTF8'))
FROM ledger_idempotency
"""


def age_stale_claims(conn: Conn) -> int:
    """Make the Idempotency-Key claims left by a killed process a minute old; how many there were.

    The middleware takes over such a claim after a minute (until then a retry is
    answered 409 request_in_progress). Moving their clock back is the minute
    passing, without waiting it out. A claim whose command the ledger holds the
    outcome of is answered (an order command's, its process killed before keeping
    the answer): its retry takes it over at once (however old). Those are not
    counted. Stock commands leave no claim: the ledger alone keeps their keys.
    """
    cursor = conn.execute(
        "UPDATE api_idempotency SET created_at = created_at - interval '61 seconds'"
        f" WHERE status_code IS NULL AND key NOT IN ({LEDGER_ANSWERED})"
    )
    return cursor.rowcount


def events_in_log(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
    assert row is not None
    return int(row[0])


def check_exactly_once(conn: Conn, load: Load, others: int = 0) -> None:
    """Every command the client saw acknowledged is in the log exactly once; besides, only `others` events."""
    assert not load.unfinished, f"commands never acknowledged: {load.summary()}"
    assert len(load.acknowledged) == load.commands, load.summary()
    ids = [uuid.UUID(ack.transaction_id) for ack in load.acknowledged.values()]
    assert len(set(ids)) == len(ids), "two keys were answered with the same transaction"
    streams = [f"movement-{i}" for i in ids]
    rows = conn.execute(
        "SELECT stream_id, count(*) FILTER (WHERE stream_version = 1), count(*) FROM ledger_events"
        " WHERE stream_id = ANY(%s) GROUP BY stream_id",
        [streams],
    ).fetchall()
    found = {r[0]: (r[1], r[2]) for r in rows}
    missing = [s for s in streams if s not in found]
    assert not missing, f"{len(missing)} acknowledged commands are not in the log, e.g. {missing[:3]}"
    twice = {s: n for s, n in found.items() if n != (1, 1)}
    assert not twice, f"streams with other than one event: {dict(list(twice.items())[:5])}"
    # Nothing else either: no retry appended a second movement under another id.
    assert events_in_log(conn) == load.commands + others


def projection_lag(conn: Conn) -> dict[str, int]:
    """Events in the log beyond each projection's checkpoint (all of them for a projection never run)."""
    total = events_in_log(conn)
    lag = {p.name: total for p in ALL}
    rows = conn.execute(
        "SELECT c.name, (SELECT count(*) FROM ledger_events e"
        " WHERE (e.writer_xid, e.position) > (c.writer_xid, c.position))"
        " FROM projection_checkpoints c"
    ).fetchall()
    lag |= {name: int(n) for name, n in rows if name in lag}
    return lag


def wait_until_caught_up(conn: Conn, timeout: float = 60) -> None:
    """Poll projection_checkpoints until every projection has no lag."""
    last: dict[str, int] = {}

    def caught_up() -> bool:
        nonlocal last
        last = projection_lag(conn)
        return not any(last.values())

    try:
        eventually(caught_up, timeout, "projections caught up", pause=0.1)
    except AssertionError as error:
        raise AssertionError(f"{error}; lag {last}") from None


def check_applied_once(conn: Conn) -> None:
    """Each projection applied every event of the log exactly once (none twice, none skipped)."""
    total = events_in_log(conn)
    rows = conn.execute("SELECT name, events_applied FROM projection_checkpoints").fetchall()
    applied: dict[str, int] = {name: int(n) for name, n in rows}
    assert applied == {p.name: total for p in ALL}, f"events_applied {applied}, events in the log {total}"


def verify(processes: Processes, database_url: str) -> None:
    """`abparts verify` exits 0: projections equal the log, every hash chain holds."""
    done = processes.run("verify", ["verify"], service_env(database_url), timeout=90)
    assert done.process.returncode == 0, f"abparts verify failed:\n{done.tail(60)}"


@contextmanager
def connection(conninfo: str) -> Iterator[Conn]:
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
        yield conn
