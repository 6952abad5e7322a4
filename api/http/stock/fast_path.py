"""POST /transactions without FastAPI's per-request machinery when nothing about it is unusual.

Under the POST load (issue 12) FastAPI's handler around the route was most of a command's
event-loop time: solving its dependencies (the token, two headers, the context), validating the
body and then the returned answer again, building the Request and Response objects (py-spy: a
fifth of a serve worker's CPU in `solve_dependencies` alone). `FastTransactions` replaces the
route's ASGI app and does only what the route needs, for the request that needs nothing more: a
JSON body that validates as `TransactionIn`, a Bearer token whose caller the principal cache
holds, an access check without SQL, sane Idempotency-Key and X-Request-ID headers. It answers
with the same `routes.recorded` as the FastAPI route and the same bytes: the answer serialized
by the route's own response field, and the headers FastAPI sends (content-length, content-type,
then the route's own).

Every other request goes, before anything was done for it, to the FastAPI route it replaced,
with its body given again: a body that does not validate gets FastAPI's 422, a missing or unknown
token the dependency's 401 (and a cache miss its lookup), a caller limited to some organizations
the check on the request's connection. Errors raised once the command was submitted (a ledger
refusal, a 503) reach the app's exception handlers as the route's do.

The request reaches it through `FastEntrance`, just inside the request id, latency and access
line layer, past the layers between it and the route that do nothing for this request (see
`FastEntrance`); whatever the entrance does not answer goes through every layer and the router
to the route, which looks at it again (the rare request, twice).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from fastapi import FastAPI, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.auth.principal import Principal
from api.http.commanding import RequestContext
from api.http.deps import REQUEST_CONNECTION, cached_caller
from api.http.middleware.bodies import parsed_body, storable
from api.http.middleware.idempotency import HELD_CONNECTION
from api.http.middleware.requests import RequestMiddleware
from api.http.problems import ApiError
from api.http.stock import access, commands, routes
from api.http.stock.schemas import TransactionIn
from api.runtime.pooling import RequestConnection
from ledger.commands import StockCommand

PATH = "/transactions"
HEADER_LIMIT = 200  # the route's max_length of Idempotency-Key and X-Request-ID
JSON = b"application/json"
# What a request this path answers carries: its caller, command, Idempotency-Key and X-Request-ID.
Usable = tuple[Principal, StockCommand, str | None, str | None]


def install(app: FastAPI) -> None:
    """Serve the app's POST /transactions through `FastTransactions`, entered by `FastEntrance`.

    The app's route is replaced by a copy whose ASGI app is the fast one: the router's own route
    (shared by every app built from it) is left as it is. The entrance goes just inside
    RequestMiddleware, the outermost of the app's own layers.
    """
    routes = app.router.routes
    for n, route in enumerate(routes):
        if isinstance(route, APIRoute) and route.path == PATH and route.methods == {"POST"}:
            fast = copy.copy(route)
            fast.app = transactions = FastTransactions(route.app, route)
            routes[n] = fast
            assert app.user_middleware[0].cls is RequestMiddleware  # type: ignore[comparison-overlap]
            app.user_middleware.insert(1, Middleware(FastEntrance, fast=transactions))
            return
    raise LookupError(f"no POST {PATH} route")


class FastEntrance:
    """POST /transactions' common request answered before the layers only other requests need.

    Between RequestMiddleware (request id, latency, access line: kept) and the route, a POST
    /transactions passed the principal cache's layer (its path keeps callers), the idempotency
    layer (the ledger keeps this route's keys), the storable-text check, the exception handlers,
    FastAPI's exit stack and the router: a tenth of a serve worker's time under the POST load
    (py-spy), most of it in their wrappers. Here the storable-text check runs on the body, the app's
    exception handlers answer what the command raises, and anything unusual goes, body replayed,
    through all of those layers as before.
    """

    def __init__(self, app: ASGIApp, fast: FastTransactions) -> None:
        self.app = app
        self.fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "POST":
            await self.fast.enter(scope, receive, send, self.app)
        else:
            await self.app(scope, receive, send)


class FastTransactions:
    """The route's ASGI app: the common request answered here, any other by `fallback` (see above)."""

    def __init__(self, fallback: ASGIApp, route: APIRoute) -> None:
        self.fallback = fallback
        self.route = route
        assert route.response_field is not None
        self.serialize = route.response_field.serialize_json
        # Handed to RequestContext, never written: this path's headers come from `routes.recorded`.
        self.unused_response = Response()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        messages = await _read_body(receive)
        body = b"".join(m.get("body", b"") for m in messages)
        found = None if messages[-1]["type"] != "http.request" else _usable(scope, body)
        if found is None:
            await self.fallback(scope, _replay(messages, receive), send)
            return
        await self._answer(scope, receive, send, found)

    async def enter(self, scope: Scope, receive: Receive, send: Send, layers: ASGIApp) -> None:
        """Answer from FastEntrance: a usable request here, any other through `layers` (see it)."""
        messages = await _read_body(receive)
        body = b"".join(m.get("body", b"") for m in messages)
        found = None
        if messages[-1]["type"] == "http.request" and storable(scope, body):
            found = _usable(scope, body)
        if found is None:
            await layers(scope, _replay(messages, receive), send)
            return
        scope["route"] = self.route  # the latency's label, as the router would have set it
        try:
            await self._answer(scope, receive, send, found)
        except Exception as error:
            handler = self._handler(scope, type(error))
            if handler is None:
                raise  # to ServerErrorMiddleware, as from the route
            answer = handler(Request(scope, receive), error)
            await (await answer if inspect.isawaitable(answer) else answer)(scope, receive, send)

    def _handler(self, scope: Scope, kind: type[Exception]) -> Callable[..., Any] | None:
        """The app's exception handler for `kind`, as its ExceptionMiddleware would choose it."""
        handlers: dict[Any, Callable[..., Any]] = scope["app"].exception_handlers
        for cls in kind.__mro__:
            if cls is not Exception and cls in handlers:  # Exception's is ServerErrorMiddleware's
                return handlers[cls]
        return None

    async def _answer(self, scope: Scope, receive: Receive, send: Send, found: Usable) -> None:
        caller, command, key, request_id = found
        request = Request(scope, receive)
        state = request.app.state
        async with AsyncExitStack() as stack:
            held = scope.get("state", {}).get(HELD_CONNECTION)
            connection = scope[REQUEST_CONNECTION] = RequestConnection(state.pool, stack, held)
            ctx = RequestContext(
                request,
                self.unused_response,
                connection,
                state.ledger,
                caller,
                state.settings,
                key,
                request_id,
            )
            answer, extra = await routes.recorded(ctx, command)
        content = self.serialize(answer)
        headers = [(b"content-length", str(len(content)).encode()), (b"content-type", JSON)]
        headers += [(name.encode(), value.encode("latin-1")) for name, value in extra]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _usable(scope: Scope, body: bytes) -> Usable | None:
    """The caller, command and headers of a request this path answers; None for any other."""
    authorization = media = None
    key = request_id = None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:  # the first, as the route reads it
            authorization = value
        elif name == b"content-type" and media is None:
            media = value.split(b";", 1)[0].strip().lower()
        elif name == b"idempotency-key" and key is None:
            key = value.decode("latin-1")
        elif name == b"x-request-id" and request_id is None:
            request_id = value.decode("latin-1")
    token = None if authorization is None else _bearer(authorization)
    if not token or media != JSON or len(key or "") > HEADER_LIMIT or len(request_id or "") > HEADER_LIMIT:
        return None
    caller = cached_caller(scope["app"].state, token)
    if caller is None:
        return None
    try:
        command = commands.transaction_command(TransactionIn.model_validate(parsed_body(scope, body)))
        if not access.checked_at_once(caller, command):
            return None
    except (ValueError, ValidationError, ApiError):  # the route answers these, as it always did
        return None
    return caller, command, key, request_id


def _bearer(value: bytes) -> str | None:
    # As OAuth2PasswordBearer reads it: "<scheme> <token>", the scheme "bearer" in any case.
    scheme, _, token = value.decode("latin-1").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _read_body(receive: Receive) -> list[Message]:
    """The request's messages up to the end of its body (or a disconnect)."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` for the fallback: the messages read already, then the rest (the disconnect, if any)."""
    given = iter(messages)

    async def replay() -> Message:
        return next(given, None) or await receive()

    return replay
