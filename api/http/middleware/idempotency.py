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

A route whose answer the ledger keeps (a stock command's success: its result is
stored under `<user id>:<key>` in the command's own transaction, and the route
rebuilds the same answer from it, see `LEDGER_KEPT`) is not stored here: its
claim stays, and a retry with the same request takes the claim over at once when
the ledger holds the key's result, runs the route, and gets the ledger's replay
(marked `idempotent-replay: true` too). So such an answer costs no statement
and no commit of its own; a refusal (4xx) of the same routes is kept as above.

One pooled connection a request: the claim's connection is put in the request's
state, the routes' `Connection` dependency uses it, and the answer is stored on
it after the handler's own transactions have committed.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import anyio
import psycopg
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.auth.security import token_digest
from api.http.problems import problem
from api.runtime.pooling import WatchedPool
from ledger.postgres import queries
from ledger.postgres.connection import Connection

log = logging.getLogger(__name__)
METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Keys of the request's state (scope["state"]): the held connection, and the ledger's own replay.
HELD_CONNECTION = "idempotency_connection"
LEDGER_REPLAY = "idempotent_replay"
# Set by a route whose 2xx answer the ledger's record of the key gives again, byte for byte.
LEDGER_KEPT = "idempotency_ledger_kept"
REPLAY_HEADER = (b"idempotent-replay", b"true")
UNAVAILABLE = problem(
    503, "database_unavailable", "the database is not reachable; retry shortly", {"Retry-After": "2"}
)
# One round trip: who the caller is, the claim, and (when the key was already claimed) the earlier
# row as it was before this statement. A session's user keys it, else the token's digest.
# The claim's commit does not wait for its WAL flush (synchronous_commit is read at commit, and
# set_config(..., true) lasts until then): the route's own commit, or the keep's, which do wait,
# flush it with them. If PostgreSQL crashes before either, the claim may be lost, but then nothing
# of the request is durable either, so running it again is right.
# A claim without an answer whose key the ledger holds a result for was answered by the ledger
# (LEDGER_KEPT): the same request takes it over at once (and gets the ledger's replay), another
# never does, however old the claim. Any other claim is taken over once it is stale.
ANSWERED_BY_LEDGER = queries.result_kept("(SELECT user_id || ':' || %(ledger_key)s FROM session)")
CLAIM = f"""
WITH session AS (
    SELECT (SELECT s.user_id::text FROM user_sessions s
            WHERE s.session_token = %(token)s AND s.is_active AND s.expires_at > now()) AS user_id
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait
), caller AS (
    SELECT sha256(convert_to(coalesce('user:' || user_id, 'token:' || coalesce(%(token)s, '')), 'UTF8')
        || '\\x00'::bytea || %(key)s::bytea) AS key
    FROM session
), claimed AS (
    INSERT INTO api_idempotency (key, fingerprint) SELECT key, %(fingerprint)s FROM caller
    ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, created_at = now()
        WHERE api_idempotency.status_code IS NULL AND CASE
            WHEN {ANSWERED_BY_LEDGER}
            THEN api_idempotency.fingerprint = EXCLUDED.fingerprint
            ELSE api_idempotency.created_at < now() - %(takeover)s * interval '1 second' END
    RETURNING key
)
SELECT c.key, EXISTS (SELECT FROM claimed), e.fingerprint, e.status_code, e.headers, e.body
FROM caller c LEFT JOIN api_idempotency e ON e.key = c.key
"""
KEEP = "UPDATE api_idempotency SET status_code = %s, headers = %s, body = %s WHERE key = %s"
RELEASE = "DELETE FROM api_idempotency WHERE key = %s AND status_code IS NULL"

Outcome = tuple[bytes, int | None, Any, bytes]  # key, status (None: no answer), headers, body


@dataclass
class Claim:
    """What the claim found: the key, and either a held connection (ours) or the earlier row."""

    key: bytes
    conn: Connection | None
    earlier: tuple[Any, ...] | None


class IdempotencyMiddleware:
    """ASGI middleware keeping the first answer to each (user, Idempotency-Key) before giving it."""

    def __init__(self, app: ASGIApp, pool: ConnectionPool, takeover: float = 15.0) -> None:
        self.app = app
        self.pool = pool
        # A claim without an answer is taken over only once its request can no longer be running:
        # the pool breaks off any hold longer than the database timeout (app.py passes it in).
        self.takeover = takeover
        # Answers that could not be kept while the database was away: kept by the next request that can.
        self._unsettled: deque[Outcome] = deque(maxlen=100_000)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ())) if scope["type"] == "http" else {}
        raw_key = headers.get(b"idempotency-key")
        if scope["type"] != "http" or scope["method"] not in METHODS or not raw_key:
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
            await _replay(claim.earlier, fingerprint, send)
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
                if _ledger_kept(state, outcome) and conn.info.transaction_status == TransactionStatus.IDLE:
                    self.pool.putconn(conn)  # nothing to store; an idle connection goes back without I/O
                    kept = True
                else:
                    kept = await anyio.to_thread.run_sync(self._settle, conn, outcome)
        if not kept and outcome[1] is not None and outcome[1] < 500:
            await UNAVAILABLE({"type": "http"}, _nothing, send)
            return
        for message in messages:
            if message["type"] == "http.response.start" and state.get(LEDGER_REPLAY):
                message = {**message, "headers": [*message["headers"], REPLAY_HEADER]}
            await send(message)

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
        key, claimed, *earlier = row
        if claimed:
            return Claim(bytes(key), conn, None)
        self.pool.putconn(conn)
        return Claim(bytes(key), None, tuple(earlier))

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


def _ledger_kept(state: dict[str, Any], outcome: Outcome) -> bool:
    """Whether the answer is a success the ledger's record of the key gives again (LEDGER_KEPT)."""
    status = outcome[1]
    return bool(state.get(LEDGER_KEPT)) and status is not None and 200 <= status < 300


def _outcome(key: bytes, messages: list[Message]) -> Outcome:
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None:
        return (key, None, None, b"")
    headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in start["headers"]]
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


async def _replay(earlier: tuple[Any, ...] | None, fingerprint: bytes, send: Send) -> None:
    # No earlier row: a twin claimed the key after this statement's snapshot (still in progress).
    stored_fingerprint, status, headers, body = earlier or (None, None, None, None)
    if stored_fingerprint is not None and bytes(stored_fingerprint) != fingerprint:
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
