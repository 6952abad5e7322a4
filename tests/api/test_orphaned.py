"""workers.orphaned(): whether a server process's supervisor died before it asked to die with it.

A spawned process (the supervisor) spawns another (the server) and exits; the server says what
`orphaned()` returns while its parent runs, and again once the test has seen that parent end.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.connection import Connection

from api.runtime import workers

WAIT = 5.0  # seconds; each step takes a spawned interpreter's start-up at most


def _server(test: Connection) -> None:
    """Report orphaned() now, and again when the test asks (after this process's parent ended)."""
    test.send(workers.orphaned())
    if test.poll(WAIT):
        test.recv()
        test.send(workers.orphaned())


def _supervisor(test: Connection, server_side: Connection) -> None:
    """Start the server, then end when the test says so, without waiting for it (as a kill -9 would)."""
    multiprocessing.get_context("spawn").Process(target=_server, args=(server_side,)).start()
    if test.poll(WAIT):
        test.recv()
    os._exit(0)  # not multiprocessing's exit, which would join the server first


def test_a_process_whose_parent_died_is_orphaned_and_one_whose_parent_runs_is_not() -> None:
    spawn = multiprocessing.get_context("spawn")
    to_supervisor, supervisor_side = spawn.Pipe()
    to_server, server_side = spawn.Pipe()
    supervisor = spawn.Process(target=_supervisor, args=(supervisor_side, server_side))
    supervisor.start()
    try:
        assert to_server.poll(WAIT), "the server did not start"
        while_parent_runs = to_server.recv()
        to_supervisor.send("exit")
        supervisor.join(WAIT)
        assert supervisor.exitcode == 0
        to_server.send("again")
        assert to_server.poll(WAIT), "the server did not answer after its parent ended"
        after_parent_died = to_server.recv()
    finally:
        if supervisor.is_alive():
            supervisor.kill()
            supervisor.join()
    assert (while_parent_runs, after_parent_died) == (False, True)
    assert not workers.orphaned()  # a process multiprocessing did not start has no parent to lose
