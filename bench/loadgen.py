"""A closed-loop HTTP/1.1 load generator (asyncio streams, keep-alive), run as a process of its own.

    echo '{"port": 8000, "connections": 32, "seconds": 10, ...}' | python -m bench.loadgen

No wrk on this machine and no httpx in the environment, so this is a minimal
client on the standard library: each connection sends a request, reads the
status line, headers and a Content-Length (or chunked) body, and sends the next.
Requests finishing in the warm-up are not counted. With `"keyed": true` each
request carries an Idempotency-Key of its own. Prints one JSON object:
requests/s, latency percentiles, statuses, a sample of an unexpected answer,
and this process's CPU seconds (it shares the machine with the server).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from bench.common import latency_summary


def request_bytes(spec: dict[str, Any], body: str | None, key: str | None = None) -> bytes:
    """One HTTP/1.1 request of the spec's method and path, with its bearer token, body and any key."""
    lines = [f"{spec['method']} {spec['path']} HTTP/1.1", f"Host: 127.0.0.1:{spec['port']}"]
    if spec.get("token"):
        lines.append(f"Authorization: Bearer {spec['token']}")
    if key is not None:
        lines.append(f"Idempotency-Key: {key}")
    data = (body or "").encode()
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, b""


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Drive `connections` connections for warmup + seconds; the measured window's figures."""
    bodies: list[str | None] = spec.get("bodies") or [None]
    requests = [request_bytes(spec, b) for b in bodies]
    # With "keyed", every request carries an Idempotency-Key of its own (built as it is sent).
    keyed = f"{uuid.uuid4().hex}-" if spec.get("keyed") else None
    connections, expected = int(spec["connections"]), int(spec.get("expect", 200))
    start = time.monotonic()
    window = (start + spec.get("warmup", 1.0), start + spec.get("warmup", 1.0) + spec["seconds"])
    done: list[tuple[float, float, int]] = []
    sample: list[str] = []

    async def connection(index: int) -> None:
        reader, writer = await asyncio.open_connection(spec.get("host", "127.0.0.1"), spec["port"])
        i = 0
        try:
            while (t0 := time.monotonic()) < window[1]:
                n = (index + i * connections) % len(requests)
                if keyed is None:
                    writer.write(requests[n])
                else:
                    writer.write(request_bytes(spec, bodies[n], f"{keyed}{index}-{i}"))
                i += 1
                status, body = await read_response(reader)
                t1 = time.monotonic()
                done.append((t1, t1 - t0, status))
                if status != expected and len(sample) < 3:
                    sample.append(f"{status}: {body[:300].decode(errors='replace')}")
        finally:
            writer.close()

    cpu0 = time.process_time()
    await asyncio.gather(*(connection(i) for i in range(connections)))
    inside = [(lat, status) for t, lat, status in done if window[0] <= t <= window[1]]
    statuses: dict[str, int] = {}
    for _, status in inside:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    ok = [lat for lat, status in inside if status == expected]
    return {
        "connections": connections,
        "seconds": spec["seconds"],
        "requests": len(inside),
        "requests_total": len(done),  # warm-up included
        "ok": len(ok),
        "requests_per_second": len(ok) / spec["seconds"],
        "statuses": statuses,
        "latency": latency_summary(ok),
        "unexpected_sample": sample,
        "loadgen_cpu_seconds": time.process_time() - cpu0,
    }


def main() -> int:
    """Read the spec from stdin, print the result as JSON."""
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(run(spec))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
