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
refusal, a 503) reach the app's exception handlers as the route's do. The middlewares outside
the route (request id, body limit, idempotency, storable text) are unchanged.
"""

from __future__ import annotations

import copy
from contextlib import AsyncExitStack

from fastapi import FastAPI, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.auth.principal import Principal
from api.http.commanding import RequestContext
from api.http.deps import REQUEST_CONNECTION, cached_caller
from api.http.middleware.bodies import parsed_body
from api.http.middleware.idempotency import HELD_CONNECTION
from api.http.problems import ApiError
from api.http.stock import access, commands, routes
from api.http.stock.schemas import TransactionIn
from api.runtime.pooling import RequestConnection
from ledger.commands import StockCommand

PATH = "/transactions"
HEADER_LIMIT = 200  # the route's max_length of Idempotency-Key and X-Request-ID
JSON = b"application/json"


def install(app: FastAPI) -> None:
    """Serve the app's POST /transactions through `FastTransactions`.

    The app's route is replaced by a copy whose ASGI app is the fast one: the router's own route
    (shared by every app built from it) is left as it is.
    """
    routes = app.router.routes
    for n, route in enumerate(routes):
        if isinstance(route, APIRoute) and route.path == PATH and route.methods == {"POST"}:
            fast = copy.copy(route)
            fast.app = FastTransactions(route.app, route)
            routes[n] = fast
            return
    raise LookupError(f"no POST {PATH} route")


class FastTransactions:
    """The route's ASGI app: the common request answered here, any other by `fallback` (see above)."""

    def __init__(self, fallback: ASGIApp, route: APIRoute) -> None:
        self.fallback = fallback
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


def _usable(scope: Scope, body: bytes) -> tuple[Principal, StockCommand, str | None, str | None] | None:
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
