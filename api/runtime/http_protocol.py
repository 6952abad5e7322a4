"""uvicorn's httptools protocol with a response's head and body sent in one write to the socket.

uvicorn writes the status line and headers when the app sends `http.response.start` and the body
when it sends `http.response.body`: two write() calls, two TCP segments, for every answer (py-spy
of a serve worker under POST load: sending the response was 14% of its CPU, most of it in those
two calls). `OneWriteProtocol` gives uvicorn's protocol a transport that holds what is written
until the response is complete, the connection closes, or the event loop's next turn (a streamed
answer's head and each of its chunks still go out as they come, a turn later at most), then
writes it at once. Everything else (parsing, keep-alive, flow control, websockets) is uvicorn's.
`uvicorn_options` (serving.py) names it for `http` whenever httptools is the parser.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

PATH = "api.runtime.http_protocol:OneWriteProtocol"  # for uvicorn's `http` option


class HeldWrites:
    """A transport whose writes are joined into one until `flush` (see the module docstring)."""

    __slots__ = ("held", "loop", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.held: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        """Hold `data` behind what is held already; the first held write schedules the flush."""
        if self.held is None:
            self.held = [data]
            self.loop.call_soon(self.flush)
        else:
            self.held.append(data)

    def flush(self) -> None:
        """Write what is held, in one write (nothing once the connection is closing)."""
        held, self.held = self.held, None
        if held and not self.transport.is_closing():
            self.transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        """Flush, then close the connection."""
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """HttpToolsProtocol on a HeldWrites transport, flushed as each response completes."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Hand uvicorn's protocol the holding transport."""
        super().connection_made(cast(asyncio.Transport, HeldWrites(transport, self.loop)))

    def on_response_complete(self) -> None:
        """The whole answer in one write, before uvicorn looks at the connection again."""
        cast(HeldWrites, self.transport).flush()
        super().on_response_complete()

    def handle_websocket_upgrade(self) -> None:
        """A websocket gets the connection's own transport (its frames are not held)."""
        held = cast(HeldWrites, self.transport)
        held.flush()
        self.transport = held.transport
        super().handle_websocket_upgrade()
