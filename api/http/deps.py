"""Typed FastAPI dependencies shared by the routes: connections, settings, the caller, the ledger, `Ctx`.

Every dependency is `async def`, so FastAPI calls it on the event loop rather than sending it
through the threadpool (py-spy showed those hand-offs as a quarter of a request's CPU): the caller
comes from the principal cache, the request's pooled connection is taken only when something
needs it (`request_connection`; an idle one without a hop), and only waiting for a connection or
a cache miss's lookup goes to a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated

import anyio
import psycopg
from fastapi import Depends, Header, Request, Response
from fastapi.security import OAuth2PasswordBearer
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.datastructures import State

from api.http.auth.cache import PrincipalCache
from api.http.auth.principal import Principal, load_principal
from api.http.auth.security import token_digest
from api.http.commanding import RequestContext
from api.http.middleware.idempotency import HELD_CONNECTION
from api.http.problems import ApiError, forbidden
from api.runtime.pooling import RequestConnection, give_back, take
from api.runtime.settings import Settings
from ledger.postgres import connection as store
from ledger.postgres.service import PostgresLedger

log = logging.getLogger(__name__)
oauth2 = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)


# Where the request's RequestConnection is kept in its ASGI scope, once made.
REQUEST_CONNECTION = "abparts.request_connection"


def request_connection(request: Request) -> RequestConnection:
    """The request's one connection, not yet taken: made on the first call, the same one after.

    A plain function, not a dependency: a command's dependencies are solved at a cost per
    dependency (py-spy), and every one that needs the connection shares this one. A keyed
    request's is the one the IdempotencyMiddleware already holds. A taken one is given back by
    the request's exit stack, the one FastAPI unwinds for its yield dependencies (not a yield
    dependency itself: its context manager and cancel scope cost every request, taking or not).
    """
    scope = request.scope
    connection: RequestConnection | None = scope.get(REQUEST_CONNECTION)
    if connection is None:
        held: store.Connection | None = scope.get("state", {}).get(HELD_CONNECTION)
        stack: AsyncExitStack = scope["fastapi_inner_astack"]
        connection = scope[REQUEST_CONNECTION] = RequestConnection(request.app.state.pool, stack, held)
    return connection


async def _connection(request: Request) -> store.Connection:
    return await request_connection(request).get()


@asynccontextmanager
async def _checkout(pool: ConnectionPool) -> AsyncIterator[store.Connection]:
    conn = await take(pool)
    try:
        yield conn
    finally:
        await give_back(pool, conn)


Connection = Annotated[store.Connection, Depends(_connection)]


async def _read_connection(request: Request, primary: Connection) -> AsyncIterator[store.Connection]:
    # The caller's lookup needs the primary anyway (it touches last_activity), so without a replica
    # the read shares that connection: still one pooled connection a request.
    replica: ConnectionPool | None = request.app.state.read_pool
    if replica is None:
        yield primary
        return
    async with _checkout(replica) as conn:
        yield conn


# The read routes' connection: the replica's pool when ABPARTS_READ_DATABASE_URL is set, else the primary.
ReadConnection = Annotated[store.Connection, Depends(_read_connection)]


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]


async def _ledger(request: Request) -> PostgresLedger:
    ledger: PostgresLedger = request.app.state.ledger
    return ledger


Ledger = Annotated[PostgresLedger, Depends(_ledger)]


Token = Annotated[str | None, Depends(oauth2)]


async def _principal(request: Request, token: Token) -> Principal:
    # The request's connection only for a caller the cache does not hold.
    principal = _cached(request, token)
    if principal is not None:
        return principal
    conn = await request_connection(request).get()
    return await find_principal(request, token, lambda digest: load_principal(conn, digest))


CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _cached(request: Request, token: str | None) -> Principal | None:
    if not token:
        detail = "sign in first: POST /token, then send the bearer token"
        raise ApiError(401, "not_authenticated", detail, dict(CHALLENGE))
    return cached_caller(request.app.state, token)


def cached_caller(state: State, token: str) -> Principal | None:
    """The principal cache's caller of `token`, if held; its refresh started when due (cache.py)."""
    cache: PrincipalCache = state.principals
    digest = token_digest(token)
    principal = cache.get(digest)
    if principal is not None and cache.refresh_due(digest):
        task = asyncio.get_running_loop().create_task(_refresh(state, digest))
        cache.tasks.add(task)  # referenced until done: the loop keeps only weak references to tasks
        task.add_done_callback(cache.tasks.discard)
    return principal


async def _refresh(state: State, digest: str) -> None:
    cache: PrincipalCache = state.principals
    generation, read_at = cache.generation, time.monotonic()
    principal = None
    try:
        conn = await take(state.pool)
        try:
            principal = await anyio.to_thread.run_sync(load_principal, conn, digest)
        finally:
            await give_back(state.pool, conn)
    except (psycopg.Error, PoolTimeout):
        # The entry stays until it expires; the next request then looks the caller up itself.
        log.warning("the principal cache's refresh failed", exc_info=True)
        cache.refresh_failed(digest)
        return
    cache.refreshed(digest, principal, read_at, generation)


async def find_principal(
    request: Request, token: str | None, load: Callable[[str], Principal | None]
) -> Principal:
    """The caller of `token`: from the principal cache, else `load`ed (by digest) in a worker thread.

    A missing, unknown, expired or revoked token is a 401.
    """
    principal = _cached(request, token)
    if principal is None:
        assert token is not None  # `_cached` refused a missing one
        digest, cache = token_digest(token), request.app.state.principals
        generation, read_at = cache.generation, time.monotonic()
        principal = await anyio.to_thread.run_sync(load, digest)
        if principal is None:
            raise ApiError(401, "invalid_token", "the token is unknown, expired or revoked", dict(CHALLENGE))
        cache.put(digest, principal, read_at, generation)
    return principal


CurrentUser = Annotated[Principal, Depends(_principal)]


async def _admin(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise forbidden("only an admin may do this")
    return user


async def _super_admin(user: CurrentUser) -> Principal:
    if not user.is_super_admin:
        raise forbidden("only a super_admin may do this")
    return user


CurrentAdmin = Annotated[Principal, Depends(_admin)]
CurrentSuperAdmin = Annotated[Principal, Depends(_super_admin)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Same key and request: the first answer again, nothing done twice.",
    ),
]
RequestId = Annotated[str | None, Header(alias="X-Request-ID", max_length=200)]


async def _lazy_context(
    request: Request,
    response: Response,
    token: Token,
    key: IdempotencyKey = None,
    request_id: RequestId = None,
) -> RequestContext:
    # The caller, the connection, the ledger and the settings without dependencies of their own:
    # each dependency FastAPI solves costs a command about 2% of its event-loop time (py-spy).
    caller, state = await _principal(request, token), request.app.state
    return RequestContext(
        request, response, request_connection(request), state.ledger, caller, state.settings, key, request_id
    )


async def _context(context: Annotated[RequestContext, Depends(_lazy_context)]) -> RequestContext:
    await context.connect()
    return context


# A command route's one dependency: it declares the Idempotency-Key and X-Request-ID headers too.
# `LazyCtx` takes the request's connection only when the route awaits `ctx.connect()` (or
# `ctx.execute` needs it); `Ctx` has taken it before the route runs, for sync routes using `ctx.conn`.
LazyCtx = Annotated[RequestContext, Depends(_lazy_context)]
Ctx = Annotated[RequestContext, Depends(_context)]
