"""The framework floor: a bare FastAPI app, `GET /` answering a small JSON, served exactly as the service is.

    python -m bench.floor --port P      (settings from ABPARTS_* as for `abparts serve`)

The server options come from api.runtime.serving.uvicorn_options, the ones `abparts serve` uses
(event loop, HTTP parser, access log, workers), so the ratio "ours / floor" measures our code,
not a different server set-up.
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI

from api.runtime.settings import Settings

# The framework configured as the service configures it (FastAPI's telemetry, ABPARTS_OPENTELEMETRY).
app = FastAPI(telemetry=Settings().telemetry())


@app.get("/")
async def root() -> dict[str, str]:
    """A small JSON, like GET /health's."""
    return {"status": "ok"}


def main() -> int:
    """Serve `app` on loopback with the service's uvicorn options."""
    import uvicorn

    from api.runtime.serving import uvicorn_options
    from api.runtime.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    options = uvicorn_options(Settings())
    target = app if options["workers"] == 1 else "bench.floor:app"
    uvicorn.run(target, host="127.0.0.1", port=args.port, log_level="warning", **options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
