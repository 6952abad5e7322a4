"""The framework floor: a bare FastAPI app, `GET /` answering a small JSON, served exactly as the service is.

    python -m bench.floor --port P      (settings from ABPARTS_* as for `abparts serve`)

The server options come from api.runtime.serving.uvicorn_options, the ones `abparts serve` uses
(event loop, HTTP parser, access log, workers, a listening socket per worker), so the ratio
"ours / floor" measures our code, not a different server set-up.
"""

from __future__ import annotations

import argparse
import signal
import sys

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

    from api.runtime.serving import run_processes, uvicorn_options

    parser = argparse.ArgumentParser(prog="python -m bench.floor")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings()
    # SIGTERM (Service.stop) as a normal exit, as `abparts serve` has it: the processes' supervisor
    # then stops them (workers.py); without it the supervisor died at once and left them running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    options = uvicorn_options(settings) | {"log_level": "warning"}
    if options["workers"] == 1:
        uvicorn.run(app, host="127.0.0.1", port=args.port, **options)
    else:  # its processes, and how they share the port, as the service's
        run_processes(settings, "bench.floor:app", options, "127.0.0.1", args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
