"""Idempotency-Key for every state-changing request: the same key and request get the first answer again.

The key is scoped to the caller (it is hashed with the Authorization header),
so two clients' keys never collide. The first request claims the key before
its handler runs; a twin arriving meanwhile gets 409 `request_in_progress`; a
retry after the answer gets that answer, byte for byte; the same key with a
different method, path or body is a 422 `idempotency_conflict`. Answers of 5xx
are not kept (the retry runs again), and a claim left by a crashed process is
taken over after 15 seconds.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from typing import Any

import anyio
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import problem
from ledger.postgres.eventstore import Connection

log = logging.getLogger(__name__)
METHODS = {"POST", "PUT", "PATCH", "DELETE"}
UNAVAILABLE = problem(
    503, "database_unavailable", "the database is not reachable; retry shortly", {"Retry-After": "2"}
)
CLAIM = """
INSERT INTO api_idempotency (key, fingerprint) VALUES (%s, %s)
ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, created_at = now()
    WHERE api_idempotency.status_code IS NULL AND api_idempotency.created_at < now() - interval '15 seconds'
RETURNING key
"""
EARLIER = "SELECT fingerprint, status_code, headers, body FROM api_idempotency WHERE key = %s"
KEEP = "UPDATE api_idempotency SET status_code = %s, headers = %s, body = %s WHERE key = %s"
RELEASE = "DELETE FROM api_idempotency WHERE key = %s AND status_code IS NULL"


class IdempotencyMiddleware:
    """ASGI middleware keeping the first answer to each (caller, Idempotency-Key)."""

    def __init__(self, app: ASGIApp, pool: ConnectionPool) -> None:
        self.app = app
        self.pool = pool
        # Answers that could not be kept while the database was away: kept by the next request that can.
        self._unsettled: deque[tuple[bytes, int | None, Any, bytes]] = deque(maxlen=100_000)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ())) if scope["type"] == "http" else {}
        raw_key = headers.get(b"idempotency-key")
        if scope["type"] != "http" or scope["method"] not in METHODS or not raw_key:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        key = hashlib.sha256(headers.get(b"authorization", b"") + b"\0" + raw_key).digest()
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b"\0" + scope["path"].encode() + b"\0" + body
        ).digest()
        try:
            earlier = await anyio.to_thread.run_sync(self._claim, key, fingerprint)
        except (psycopg.OperationalError, PoolTimeout):
            log.warning("database unavailable: cannot claim an Idempotency-Key")
            await UNAVAILABLE({"type": "http"}, _nothing, send)
            return
        if earlier is not None:
            await _replay(earlier, fingerprint, send)
            return
        await self._run(scope, body, send, key)

    async def _run(self, scope: Scope, body: bytes, send: Send, key: bytes) -> None:
        sent = False
        captured: dict[str, Any] = {"body": b""}

        async def replay_body() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            outcome = (key, captured.get("status"), captured.get("headers"), captured["body"])
            await anyio.to_thread.run_sync(self._settle, outcome)

    def _claim(self, key: bytes, fingerprint: bytes) -> tuple[Any, ...] | None:
        with self.pool.connection() as conn:
            self._flush(conn)
            if conn.execute(CLAIM, [key, fingerprint]).fetchone() is not None:
                return None
            row = conn.execute(EARLIER, [key]).fetchone()
            return tuple(row) if row is not None else (fingerprint, None, None, None)

    def _settle(self, outcome: tuple[bytes, int | None, Any, bytes]) -> None:
        """Keep the answer (or release the claim after a 5xx); if the database is away, later."""
        try:
            with self.pool.connection() as conn:
                _keep(conn, outcome)
        except (psycopg.OperationalError, PoolTimeout):
            log.warning("database unavailable: the answer to an Idempotency-Key is kept later")
            self._unsettled.append(outcome)

    def _flush(self, conn: Connection) -> None:
        while self._unsettled:
            outcome = self._unsettled.popleft()
            try:
                _keep(conn, outcome)
            except psycopg.OperationalError:
                self._unsettled.appendleft(outcome)
                raise


def _keep(conn: Connection, outcome: tuple[bytes, int | None, Any, bytes]) -> None:
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


async def _replay(earlier: tuple[Any, ...], fingerprint: bytes, send: Send) -> None:
    stored_fingerprint, status, headers, body = earlier
    if bytes(stored_fingerprint) != fingerprint:
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
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*raw, (b"idempotent-replay", b"true")],
            }
        )
        await send({"type": "http.response.body", "body": bytes(body)})
        return
    await response({"type": "http"}, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
