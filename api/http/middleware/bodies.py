"""Refuse JSON request bodies holding text PostgreSQL cannot store, before any route sees them.

A lone UTF-16 surrogate ("\\ud800" in JSON) parses into a Python str that cannot
be encoded as UTF-8, and NUL is refused by PostgreSQL's text and jsonb alike.
Either one, in any string or key of any body, would surface deep in a write as
a driver error. Checking every JSON body here, once, covers every field of every
route (including plain `str` fields of the reference data), so none can be
accepted and then fail to be stored or read back.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import problem
from ledger.types import unstorable_character

WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Where the body and its parsed document are kept in the request's scope (see `parsed_body`).
PARSED_BODY = "abparts.parsed_body"


class StorableTextMiddleware:
    """Answer 422 `invalid_text` for a JSON body with NUL or a lone surrogate anywhere in it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            found = _first_unstorable(body, scope)
        except RecursionError:
            await problem(422, "invalid_body", "the JSON body is nested too deeply")(scope, receive, send)
            return
        if found is not None:
            where, what = found
            detail = f"text at {where or 'the top of the body'} cannot be stored: {what}"
            await problem(422, "invalid_text", detail, extra={"pointer": where})(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()  # after the body: the disconnect, when it comes
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = bytes(value).split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _first_unstorable(body: bytes, scope: Scope) -> tuple[str, str] | None:
    """(JSON pointer, what) of the first unstorable string in the body; None if none or not JSON.

    The parsed body is left in the scope (`parsed_body`) for a route that reads it as it is.
    """
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON (or not UTF-8): the route's own parsing answers its 422
    scope[PARSED_BODY] = (body, document)
    if b"\\u" not in body and b"\x00" not in body and b"\xed" not in body:
        # Neither can be in the document then: JSON takes a NUL in a string only escaped (json.loads
        # refuses a raw control character), a surrogate escaped or as UTF-8's 0xED lead byte (json.loads
        # decodes with surrogatepass), and a UTF-16 or UTF-32 body, the others it reads, holds NUL
        # bytes. The walk costs about 15 us for a POST /transactions body, this look 1 us (timeit).
        return None
    return _search(document, "")


def storable(scope: Scope, body: bytes) -> bool:
    """Whether this middleware would let the request by: not JSON, or JSON with no unstorable text.

    For a layer that answers a request before this one sees it (stock/fast_path.py's entrance).
    """
    if scope["method"] not in WITH_BODY or not _is_json(scope):
        return True
    try:
        return _first_unstorable(body, scope) is None
    except RecursionError:
        return False


def parsed_body(scope: Scope, body: bytes) -> Any:
    """`body` as JSON: the document this middleware parsed when it is that body, else parsed now.

    A ValueError when it is not JSON. The document is shared: read it, never change it.
    """
    kept: tuple[bytes, Any] | None = scope.get(PARSED_BODY)
    if kept is not None and kept[0] == body:
        return kept[1]
    return json.loads(body)


def _search(value: Any, where: str) -> tuple[str, str] | None:
    if isinstance(value, str):
        what = unstorable_character(value)
        return (where, what) if what is not None else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _search(key, where) or _search(item, f"{where}/{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _search(item, f"{where}/{index}")
            if found is not None:
                return found
    return None
