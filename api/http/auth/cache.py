"""The callers of the last second: a principal found by its token is reused for at most `ttl` seconds.

Finding the caller is a round trip per request (and, on a cache miss, a hop to a worker thread).
A token's principal is kept for at most a second (`ABPARTS_PRINCIPAL_CACHE_SECONDS`; 0 turns the
cache off), and the whole cache is dropped, before the answer leaves, by every state-changing
request that may change who a token belongs to or what it may reach: sign-out, sign-in, users
(deactivation, roles, password resets), organizations (deactivation, new suppliers in an
admin's scope). So in this process a signed-out token or a deactivated user is refused at once;
another server process of the same service refuses it within `ttl` (it has its own cache).

A caller in steady use is read again once its entry is past half its `ttl`, by a task that one
request starts and no request waits for (`refresh_due`, deps.py): under the POST load every
request arriving while an expired entry was being looked up again missed too and did the lookup
itself, through FastAPI's route (a fifth of a serve worker's CPU went to those requests, py-spy).

Requests that never change a principal (the stock and order commands, the catalog, machines,
warehouses) keep the cache: they are the hot path.
"""

from __future__ import annotations

import asyncio
import threading
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.auth.principal import Principal

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# State-changing paths that cannot change a session, a user or an organization.
KEEPS_CALLERS = (
    "/transactions",
    "/stock-adjustments",
    "/stocktakes",
    "/part-usage",
    "/customer-orders",
    "/supplier-orders",
    "/parts",
    "/machines",
    "/warehouses",
)
MAX_ENTRIES = 10_000


class PrincipalCache:
    """Principals by token digest, each until `ttl` seconds after it was read from the database."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._found: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        # Bumped by every clear: a lookup that began before one must not put what it read.
        self.generation = 0
        self._refreshing: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()  # the refreshes running (deps.py)

    def get(self, digest: str) -> Principal | None:
        """The cached principal of `digest`, if read less than `ttl` ago."""
        entry = self._found.get(digest)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            with self._lock:
                self._found.pop(digest, None)
            return None
        return entry[1]

    def put(self, digest: str, principal: Principal, read_at: float, generation: int) -> None:
        """Keep `principal` (read at monotonic `read_at`, the cache at `generation` then) for `digest`."""
        if self.ttl <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return  # cleared since the lookup began: what it read may be stale
            if len(self._found) >= MAX_ENTRIES:
                self._found.clear()
            self._found[digest] = (read_at + self.ttl, principal)

    def refresh_due(self, digest: str) -> bool:
        """Whether `digest`'s principal was read over half `ttl` ago and no refresh of it runs (now one does).

        A caller in steady use is read again before its entry expires, by one request that does
        not wait for it (deps.py): its other requests keep the entry, where all those arriving
        while an expired one was looked up again missed and each did the lookup. An entry is still
        never used past `ttl` after its read.
        """
        entry = self._found.get(digest)
        if entry is None or entry[0] - self.ttl / 2 > time.monotonic() or digest in self._refreshing:
            return False
        with self._lock:
            if digest in self._refreshing:
                return False
            self._refreshing.add(digest)
        return True

    def refreshed(self, digest: str, principal: Principal | None, read_at: float, generation: int) -> None:
        """End `digest`'s refresh: keep what it read, or forget the token (no longer valid)."""
        with self._lock:
            self._refreshing.discard(digest)
            if principal is None:
                self._found.pop(digest, None)
        if principal is not None:
            self.put(digest, principal, read_at, generation)

    def refresh_failed(self, digest: str) -> None:
        """End `digest`'s refresh, keeping its entry as it was (it expires when it would have)."""
        with self._lock:
            self._refreshing.discard(digest)

    def clear(self) -> None:
        """Forget every principal (someone's session, user or organization may have changed)."""
        with self._lock:
            self._found.clear()
            self.generation += 1


def may_change_callers(method: str, path: str) -> bool:
    """Whether a request may change a session, a user or an organization."""
    return method in MUTATING and not path.startswith(KEEPS_CALLERS)


class PrincipalCacheMiddleware:
    """Drops the cache when a request that may change callers answers, before the answer is sent.

    Its own writes have committed by then (the routes commit before they answer), so the next
    request of any client finds the new state.
    """

    def __init__(self, app: ASGIApp, cache: PrincipalCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not may_change_callers(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return

        async def clearing(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.cache.clear()
            await send(message)

        try:
            await self.app(scope, receive, clearing)
        finally:
            self.cache.clear()  # an error with no answer, too
