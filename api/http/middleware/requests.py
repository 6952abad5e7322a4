"""What every HTTP request gets, in one layer: its request id, its latency under its route, its access line.

The request id is the client's X-Request-ID when it is sane, else one made up (api/runtime/logs.py);
it is set for every log line written while the request is handled and returned as X-Request-ID.
The latency is observed under the route template (not the raw path, to keep labels few).

The access line (method, path, status, route, duration, with the request id) is written at INFO
only with `access_log` (ABPARTS_ACCESS_LOG): a line per request cost about 5% of a request's CPU.
Otherwise it is a DEBUG line (ABPARTS_LOG_LEVEL=DEBUG). One layer, not one for the id and one for
the timing: each layer and its wrapper of `send` cost every request (GET /health, in-process).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.middleware.metrics import Metrics
from api.runtime.logs import given_id, made_up_id, request_id

access = logging.getLogger("abparts.access")


class RequestMiddleware:
    """Sets each HTTP request's id, times it and writes its access line (see the module docstring)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.level = logging.INFO if access_log else logging.DEBUG
        # The histogram's child per (method, route, status), found once: labels() cost a third of
        # this layer's time on GET /health. Few keys: methods and route templates are the app's own.
        self.children: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = given_id(scope) or made_up_id()
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            self._observe(scope, status, time.perf_counter() - started)
            request_id.reset(token)

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        template = getattr(scope.get("route"), "path", "unmatched")
        key = (scope["method"], template, status)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = self.metrics.latency.labels(key[0], template, str(status))
        child.observe(elapsed)
        if access.isEnabledFor(self.level):
            access.log(
                self.level,
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={"status": status, "route": template, "duration_ms": round(elapsed * 1000, 3)},
            )
