"""uvicorn with OneWriteProtocol (api/runtime/http_protocol.py): an answer's head waits for its body.

A real uvicorn server on loopback, on uvloop as `abparts serve` runs it, and raw sockets as clients.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from api.runtime.http_protocol import PATH, HeldWrites
from api.runtime.serving import uvicorn_options
from api.runtime.settings import Settings

BODY = b'{"ok": true}'
HELD: list[int] = []  # per /plain answer: what its transport held once the head was sent (-1: not ours)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """`/plain`: an answer in two messages; `/stream`: a head, then chunks a moment apart."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json")]
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in (b"one", b"two"):
            await asyncio.sleep(0.05)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    await send(
        {"type": "http.response.start", "status": 201, "headers": [*headers, (b"content-length", b"12")]}
    )
    transport = send.__self__.transport  # uvicorn's cycle: what it wrote the head to
    HELD.append(len(transport.held or ()) if isinstance(transport, HeldWrites) else -1)
    await send({"type": "http.response.body", "body": BODY})


@pytest.fixture
def port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, http=PATH, loop="uvloop", log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    try:
        yield int(listener.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def read_answer(client: socket.socket) -> bytes:
    data = b""
    while not data.endswith(BODY) and not data.endswith(b"0\r\n\r\n"):
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_serve_uses_the_one_write_protocol_with_httptools() -> None:
    assert uvicorn_options(Settings(server_http="auto"))["http"] == PATH
    assert uvicorn_options(Settings(server_http="httptools"))["http"] == PATH
    assert uvicorn_options(Settings(server_http="h11"))["http"] == "h11"


def test_the_head_is_held_until_the_body_and_keep_alive_serves_the_next_request(port: int) -> None:
    seen: list[bytes] = []
    HELD.clear()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        for _ in range(3):
            client.sendall(b"POST /plain HTTP/1.1\r\nhost: t\r\ncontent-length: 0\r\n\r\n")
            seen.append(read_answer(client))
    for answer in seen:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 201 Created\r\n") and b"content-length: 12" in head
        assert body == BODY
    assert HELD == [1, 1, 1]  # each head waited for its body: one write an answer


def test_a_streamed_answer_arrives_chunk_by_chunk_and_a_closing_one_in_full(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"GET /stream HTTP/1.1\r\nhost: t\r\n\r\n")
        first = client.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b"transfer-encoding: chunked" in first
        assert b"two" not in first  # the head and the first chunk came before the last was sent
        rest = read_answer(client)
        assert (first + rest).endswith(b"3\r\ntwo\r\n0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"POST /plain HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        assert answer.endswith(b"\r\n\r\n" + BODY) and b"connection: close" in answer
