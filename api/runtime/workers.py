"""Several server processes on one port, each accepting on a listening socket of its own (SO_REUSEPORT).

uvicorn's supervisor hands one listening socket to all its workers: each is woken by a new
connection, and the first to run accepts every connection queued. Connections opened together
(the benchmark's 32, a client's pool at start-up) were split 4/28, 1/31, even 0/32 between two
processes: the crowded one saturated its core, and its requests waited in its event loop
(150 ms at the p99 before reaching the ledger's committer) while the other process idled. With a
socket per process in one SO_REUSEPORT group, Linux spreads the connections over the sockets by a
hash of their addresses, whoever is awake: 12-20 of 32 each.

`serve_processes` starts the processes (`multiprocessing`'s spawn, as uvicorn does), starts
again one that exits, and on SIGTERM or Ctrl-C (SystemExit or KeyboardInterrupt here) stops them
all: each shuts down gracefully on SIGTERM, and is killed if it has not within 25 s. Each process
asks to be killed when its parent dies (`die_with_parent`), whatever app it serves: a supervisor
killed outright (kill -9, or a SIGTERM with no handler, as the benchmark's floor app had) leaves no
orphaned server behind, still holding its port and its memory.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import wait
from typing import Any

log = logging.getLogger(__name__)
STOP_TIMEOUT = 25.0  # uvicorn's graceful shutdown lets requests in flight finish first
RESTART_PAUSE = 1.0  # a process that cannot start is not restarted in a tight loop


def available() -> bool:
    """Whether the kernel spreads connections over sockets sharing a port (Linux's SO_REUSEPORT)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port in the port's SO_REUSEPORT group (not listening yet)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve_processes(target: str, options: dict[str, Any], host: str, port: int, count: int) -> None:
    """Serve uvicorn's `target` (an import string) from `count` processes until told to stop."""
    try:
        # Bound, never listening: it takes no connections, but the port is known to be ours (and
        # known at all, for port 0) before any process starts.
        reserved = bound_socket(host, port)
    except OSError as error:
        log.error("cannot listen on %s:%s: %s", host, port, error)
        raise SystemExit(3) from None  # uvicorn's exit status when it cannot start
    port = int(reserved.getsockname()[1])
    args = (target, options, host, port)
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_serve_one, args=args, name=f"server-{n}") for n in range(count)]
    try:
        for process in processes:
            process.start()
        while True:
            wait([p.sentinel for p in processes])
            for n, process in enumerate(processes):
                if process.exitcode is not None:
                    log.warning(
                        "server process %s exited (%s); starting another", process.pid, process.exitcode
                    )
                    time.sleep(RESTART_PAUSE)
                    processes[n] = spawn.Process(target=_serve_one, args=args, name=process.name)
                    processes[n].start()
    except KeyboardInterrupt:  # Ctrl-C reached the processes too: they are stopping already
        pass
    finally:
        _stop(processes)
        reserved.close()


def die_with_parent() -> None:
    """On Linux, ask for SIGKILL when the parent dies (a kill -9 of the service leaves no orphans)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        log.debug("prctl(PR_SET_PDEATHSIG) is not available")


def orphaned() -> bool:
    """In a process multiprocessing started: whether its parent died already (before a
    `die_with_parent` could take effect: nobody would stop it then)."""
    parent = multiprocessing.parent_process()
    return parent is not None and parent.pid != os.getppid()


def _serve_one(target: str, options: dict[str, Any], host: str, port: int) -> None:
    """One server process: uvicorn on a listening socket of its own in the port's group."""
    import uvicorn

    die_with_parent()
    if orphaned():
        return

    config = uvicorn.Config(target, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[bound_socket(host, port)])


def _stop(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    started = [p for p in processes if p.pid is not None]
    for process in started:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in started:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(5)
