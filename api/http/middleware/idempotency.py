"""Idempotency-Key for every state-changing request: the same key and request get the first answer again.

The key is the caller's: the claim statement resolves the bearer token to its
user (tokens without a live session, and no token, are keyed by the token
itself), so a retry after a new sign-in finds the first answer, as the ledger's
own keys (`<user id>:<key>`) do. The first request claims the key before its
handler runs; a twin arriving meanwhile gets 409 `request_in_progress` (or, once
the ledger holds its result, the same answer); the same key with a different
method, path or body is a 422 `idempotency_conflict`.

The answer is kept before it is sent: the handler's response is buffered, stored,
and only then given, so any retry after an answer gets that answer, byte for
byte, with `idempotent-replay: true`. Answers of 5xx are not kept (the retry
runs again). If the database goes away between the handler and the store, the
answer is queued for the next request that can store it and the client gets 503
`database_unavailable` instead (never an answer it could not get again); its
retry then finds the queued answer. A claim left by a crashed process is taken
over once its request can no longer be running: after ABPARTS_DATABASE_TIMEOUT +
ABPARTS_READ_WAIT_TIMEOUT + 5 s (15 s by default, never less).

The stock command routes (`ledger_kept`: POST /transactions and its approve, reject and reverse,
/stock-adjustments, /stocktakes, /part-usage) are not claimed here at all: the ledger is their
only keeper, in the command's own transaction, at no round trip of its own. It keeps the result,
or the refusal (a LedgerError), under `<user id>:<key>` with a hash of the command
(ledger/postgres/idempotency.py); the route rebuilds the same answer from it, marked
`idempotent-replay: true`; the same key with another command is a 422 `idempotency_conflict`; a
twin in flight waits for the first's row and gets its answer (no 409 `request_in_progress`).
What is refused before the ledger decides (a body that does not validate, 401, 403, an access
rule's 404) is not kept: the answer follows from the request and the caller's rights, and a retry
gets it again or is the caller's to fix. A key the ledger holds is refused here (422) on any
other route that has no claim of its own for it; the other way round, a stock command does not
look here, so a key first used on another route and then for a stock command is that command's.
The orders' routes keep the claim: their answers are kept here as any other.

One pooled connection a request: the claim's connection is put in the request's
state, the routes' `Connection` dependency uses it, and the answer is stored on
it after the handler's own transactions have committed.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.auth.security import token_digest
from api.http.middleware.idempotency_sql import CLAIM, KEEP, RELEASE
from api.http.problems import problem
from api.runtime.pooling import WatchedPool
from ledger.postgres.connection import Connection

log = logging.getLogger(__name__)
METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Keys of the request's state (scope["state"]): the held connection, and the ledger's own replay.
HELD_CONNECTION = "idempotency_connection"
LEDGER_REPLAY = "idempotent_replay"
REPLAY_HEADER = (b"idempotent-replay", b"true")
UNAVAILABLE = problem(
    503, "database_unavailable", "the database is not reachable; retry shortly", {"Retry-After": "2"}
)

Outcome = tuple[bytes, int | None, Any, bytes]  # key, status (None: no answer), headers, body


@dataclass
class Claim:
    """What the claim found: the key, and either a held connection (ours) or the earlier row."""

    key: bytes
    conn: Connection | None
    earlier: tuple[Any, ...] | None
    by_ledger: bool = False  # the ledger holds the key for a stock command: not this request's


class IdempotencyMiddleware:
    """ASGI middleware keeping the first answer to each (user, Idempotency-Key) before giving it."""

    def __init__(
        self,
        app: ASGIApp,
        pool: ConnectionPool,
        takeover: float = 15.0,
        ledger_kept: Sequence[re.Pattern[str]] = (),
    ) -> None:
        self.app = app
        self.pool = pool
        # The paths of the POST routes whose keys the ledger alone keeps (see the module docstring).
        self.ledger_kept = tuple(ledger_kept)
        # A claim without an answer is taken over only once its request can no longer be running:
        # the pool breaks off any hold longer than the database timeout (app.py passes it in).
        self.takeover = takeover
        # Answers that could not be kept while the database was away: kept by the next request that can.
        self._unsettled: deque[Outcome] = deque(maxlen=100_000)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        raw_key = headers.get(b"idempotency-key")
        # The key first: a request without one passes whatever its route (the unkeyed POST load
        # matched the ledger's route patterns for nothing).
        if not raw_key or self._by_ledger(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b"\0" + scope["path"].encode() + b"\0" + body
        ).digest()
        try:
            # Shielded: a claim made must reach _run, whose finally gives its connection back.
            with anyio.CancelScope(shield=True):
                # It may wait for a connection: on the pool's own waiting threads (see WatchedPool.waiters).
                waiters = self.pool.waiters() if isinstance(self.pool, WatchedPool) else None
                claim = await anyio.to_thread.run_sync(
                    self._claim,
                    _bearer_digest(headers.get(b"authorization")),
                    raw_key,
                    fingerprint,
                    limiter=waiters,
                )
        except (psycopg.OperationalError, PoolTimeout):
            log.warning("database unavailable: cannot claim an Idempotency-Key")
            await UNAVAILABLE({"type": "http"}, _nothing, send)
            return
        if claim.conn is None:
            await _replay(claim.earlier, fingerprint, send, claim.by_ledger)
            return
        await self._run(scope, body, send, claim.key, claim.conn)

    async def _run(self, scope: Scope, body: bytes, send: Send, key: bytes, conn: Connection) -> None:
        state: dict[str, Any] = {**scope.get("state", {}), HELD_CONNECTION: conn}
        messages: list[Message] = []
        given = False

        async def receive_body() -> Message:
            nonlocal given
            if given:
                return {"type": "http.disconnect"}
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def buffer(message: Message) -> None:
            messages.append(message)

        outcome: Outcome = (key, None, None, b"")
        try:
            await self.app({**scope, "state": state}, receive_body, buffer)
            outcome = _outcome(key, messages)
        finally:
            # Shielded: a client gone (the task cancelled) must still release the claim and the connection.
            with anyio.CancelScope(shield=True):
                kept = await anyio.to_thread.run_sync(self._settle, conn, outcome)
        if not kept and outcome[1] is not None and outcome[1] < 500:
            await UNAVAILABLE({"type": "http"}, _nothing, send)
            return
        for message in messages:
            if message["type"] == "http.response.start" and state.get(LEDGER_REPLAY):
                message = {**message, "headers": [*message["headers"], REPLAY_HEADER]}
            await send(message)

    def _by_ledger(self, scope: Scope) -> bool:
        """Whether the request goes to a route whose keys the ledger alone keeps."""
        if scope["method"] != "POST":
            return False
        path: str = scope["path"]
        return any(route.match(path) for route in self.ledger_kept)

    def _claim(self, token: str | None, raw_key: bytes, fingerprint: bytes) -> Claim:
        """Claim the key on a pooled connection, held for the request unless the key was taken."""
        conn = self.pool.getconn()
        try:
            self._flush(conn)
            params: dict[str, object] = {"token": token, "key": raw_key, "fingerprint": fingerprint}
            # The ledger's key is `<user id>:<key>`, the header as the routes read it (latin-1); text
            # cannot hold NUL (such a key never reaches the ledger: no header parser lets it through).
            ledger_key = raw_key.decode("latin-1") if b"\0" not in raw_key else None
            params |= {"ledger_key": ledger_key, "takeover": self.takeover}
            row = conn.execute(CLAIM, params).fetchone()
        except BaseException:
            self.pool.putconn(conn)
            raise
        assert row is not None  # the caller CTE always yields one row
        key, claimed, *earlier, by_ledger = row
        if claimed:
            return Claim(bytes(key), conn, None)
        self.pool.putconn(conn)
        return Claim(bytes(key), None, tuple(earlier), by_ledger)

    def _settle(self, conn: Connection, outcome: Outcome) -> bool:
        """Keep the answer (or release the claim); queue it if the database is away. Whether kept."""
        try:
            self._flush(conn)
            _keep(conn, outcome)
            return True
        except (psycopg.OperationalError, PoolTimeout):
            log.warning("database unavailable: the answer to an Idempotency-Key is kept later")
            self._unsettled.append(outcome)
            return False
        finally:
            self.pool.putconn(conn)

    def _flush(self, conn: Connection) -> None:
        while self._unsettled:
            outcome = self._unsettled.popleft()
            try:
                _keep(conn, outcome)
            except psycopg.OperationalError:
                self._unsettled.appendleft(outcome)
                raise


def _bearer_digest(authorization: bytes | None) -> str | None:
    """What user_sessions keeps of the request's bearer token, if it has one."""
    scheme, _, token = (authorization or b"").decode("latin-1").partition(" ")
    return token_digest(token.strip()) if scheme.lower() == "bearer" and token.strip() else None


def _outcome(key: bytes, messages: list[Message]) -> Outcome:
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None:
        return (key, None, None, b"")
    # Not the ledger's own replay mark (the replay adds it): a replay kept so would carry it twice.
    headers = [
        [k.decode("latin-1"), v.decode("latin-1")] for k, v in start["headers"] if k != REPLAY_HEADER[0]
    ]
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return (key, start["status"], headers, body)


def _keep(conn: Connection, outcome: Outcome) -> None:
    key, status, headers, body = outcome
    if status is None or status >= 500:
        conn.execute(RELEASE, [key])
    else:
        conn.execute(KEEP, [status, Jsonb(headers), body, key])


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _replay(earlier: tuple[Any, ...] | None, fingerprint: bytes, send: Send, by_ledger: bool) -> None:
    # No earlier row: a twin claimed the key after this statement's snapshot (still in progress).
    stored_fingerprint, status, headers, body = earlier or (None, None, None, None)
    if by_ledger or (stored_fingerprint is not None and bytes(stored_fingerprint) != fingerprint):
        response = problem(
            422, "idempotency_conflict", "this Idempotency-Key was used with a different request"
        )
    elif status is None:
        response = problem(
            409,
            "request_in_progress",
            "a request with this Idempotency-Key is still running; retry shortly",
            {"Retry-After": "1"},
        )
    else:
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await send({"type": "http.response.start", "status": status, "headers": [*raw, REPLAY_HEADER]})
        await send({"type": "http.response.body", "body": bytes(body)})
        return
    await response({"type": "http"}, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
