"""The benchmark's floor app with several processes leaves none behind, however its supervisor ends.

A SIGTERM (bench/service.py's Service.stop) is a normal exit that stops the processes; a SIGKILL of
the supervisor kills them too (workers.die_with_parent). Before, every `bench.http` run left the
floor's server processes running, each holding its port and its memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx2 as httpx
import pytest

from api.runtime import workers
from bench.service import free_port
from tests.fixtures.processes import alive, listening_sockets, spawned

pytestmark = pytest.mark.skipif(not workers.available(), reason="a socket per process: Linux")


def until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGKILL])
def test_the_floors_processes_end_with_it(ending: signal.Signals) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABPARTS_")} | {"ABPARTS_WORKERS": "2"}
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "bench.floor", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        until(lambda: len(spawned(supervisor.pid)) == 2, 60, "two server processes")

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        until(answers, 60, "the floor answering")
        # Both processes listening: each has asked to die with the supervisor by then.
        until(lambda: listening_sockets(port) == 2, 60, "two listening sockets")
        servers = spawned(supervisor.pid)
        supervisor.send_signal(ending)
        supervisor.wait(40)
        until(lambda: not any(alive(p) for p in servers), 30, f"server processes left after {ending.name}")
        if ending == signal.SIGTERM:
            assert supervisor.returncode == 0
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
