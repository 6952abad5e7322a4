"""How `abparts serve` runs the HTTP app: uvicorn's options, one process or several, and the projectors.

`uvicorn_options` is the one place the server's settings are chosen (event loop, HTTP parser and
protocol (with httptools, http_protocol.py's: a response in one write), access log, workers), so
the benchmark's framework floor (bench/floor.py) is served exactly as the service is. With one
worker the app runs in this process with its projectors in threads (as `make run` always did).
With several, uvicorn's supervisor starts them (each builds the app with `worker_app`, the
projectors off) and the projectors run in a process of their own, the `abparts project` one,
started and stopped with the service; each server process accepts on a listening socket of its
own (workers.py). Either way the process freezes its start-up heap out of the garbage
collector's full collections (`served_app`, heap.py).
"""

from __future__ import annotations

import inspect
import logging
import os
import signal
import subprocess
import sys
from typing import Any

from api.runtime import workers
from api.runtime.settings import Settings
from api.runtime.workers import die_with_parent

# The URL a worker process reads (the embedded server's is known only once it has started).
URL_VARIABLE = "ABPARTS_DATABASE_URL"


def worker_count(settings: Settings) -> int:
    """`ABPARTS_WORKERS`, else one server process per CPU."""
    return settings.workers if settings.workers is not None else max(1, os.cpu_count() or 1)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's keyword arguments for the service (and for the benchmark's floor app)."""
    import uvicorn

    workers = worker_count(settings)
    options: dict[str, Any] = {
        "loop": settings.server_loop,
        "http": _http_protocol(settings.server_http),
        # Our own JSON lines (with request ids) replace uvicorn's logging config and its access log:
        # ABPARTS_ACCESS_LOG turns on ours (api/http/middleware/metrics.py), with the request id.
        "log_config": None,
        "access_log": False,
        "workers": workers,
    }
    if workers > 1 and "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        # A worker builds the app and opens its pool before it answers the supervisor's ping: on a
        # loaded machine that takes longer than uvicorn's 5 s, and it would be killed and restarted.
        options["timeout_worker_healthcheck"] = 60
    return options


def _http_protocol(parser: str) -> str:
    """uvicorn's `http`: with httptools (asked for, or `auto` and installed), ours (http_protocol.py)."""
    if parser == "h11":
        return parser
    try:
        import httptools  # noqa: F401
    except ImportError:
        return parser  # `auto`: h11; `httptools`: uvicorn says it is missing
    from api.runtime.http_protocol import PATH

    return PATH


def serve(settings: Settings, url: str, host: str, port: int) -> None:
    """Serve the API on host:port until SIGTERM or Ctrl-C (see the module docstring)."""
    import uvicorn

    options = uvicorn_options(settings)
    if options["workers"] == 1:
        uvicorn.run(served_app(settings, url), host=host, port=port, **options)
        return
    os.environ[URL_VARIABLE] = url
    projector = _projector_process(url) if settings.run_projectors else None
    os.environ["ABPARTS_RUN_PROJECTORS"] = "false"  # the workers' (they read the environment)
    try:
        run_processes(settings, "api.runtime.serving:worker_app", options | {"factory": True}, host, port)
    finally:
        if projector is not None:
            _stop(projector)


def run_processes(settings: Settings, target: str, options: dict[str, Any], host: str, port: int) -> None:
    """Serve `target` (an import string) from `options["workers"]` processes (see workers.py).

    A listening socket per process where the kernel spreads connections over them
    (`ABPARTS_REUSE_PORT`, Linux); else uvicorn's supervisor, one socket for all.
    """
    import uvicorn

    if settings.reuse_port and workers.available():
        count = options["workers"]
        own = {k: v for k, v in options.items() if k not in ("workers", "timeout_worker_healthcheck")}
        workers.serve_processes(target, own, host, port, count)
    else:
        uvicorn.run(target, host=host, port=port, **options)


def worker_app() -> Any:
    """The app of one of several server processes (uvicorn's `--factory`), from the environment."""
    from api.runtime.logs import configure

    die_with_parent()
    if workers.orphaned():
        raise SystemExit(0)
    settings = Settings()
    configure(json_lines=settings.log_json, level=logging.getLevelNamesMapping()[settings.log_level])
    url = settings.database_url or os.environ[URL_VARIABLE]
    return served_app(settings, url)


def served_app(settings: Settings, url: str) -> Any:
    """The app a server process serves, its start-up heap frozen (`ABPARTS_GC_FREEZE`, heap.py)."""
    from api.http.app import create_app
    from api.runtime import heap

    app = create_app(settings, url)
    if settings.gc_freeze:
        heap.freeze()
    return app


def _projector_process(url: str) -> subprocess.Popen[bytes]:
    """`abparts project` for `url`, as a child that dies with this process."""
    env = os.environ | {URL_VARIABLE: url}
    code = "import sys; from api.cli import main; sys.exit(main(['project']))"
    # A fixed argv: this interpreter and our own entry point.
    return subprocess.Popen([sys.executable, "-c", code], env=env, preexec_fn=die_with_parent)  # noqa: S603


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
