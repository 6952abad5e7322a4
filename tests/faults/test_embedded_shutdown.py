"""`abparts serve` on the embedded PostgreSQL stops its server when it is stopped, even after a kill -9."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from tests.faults.harness import LOOPBACK, Processes, Service, eventually, free_port, wait_for_health


@pytest.fixture
def pgdata() -> Iterator[Path]:
    # Not under pytest's temp directory: the server may run as another user (see tests/fixtures/database.py).
    where = Path(tempfile.mkdtemp(prefix="abparts-serve-"))
    yield where / "pgdata"
    with suppress(OSError, ValueError):  # a server the test failed to see stopped must not outlive it
        os.kill(int((where / "pgdata" / "postmaster.pid").read_text().split()[0]), signal.SIGTERM)
    shutil.rmtree(where, ignore_errors=True)


def serve(processes: Processes, pgdata: Path) -> Service:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABPARTS_") and k != "DATABASE_URL"}
    env |= {"ABPARTS_PGDATA": str(pgdata), "ABPARTS_LOG_JSON": "false"}
    port = free_port()
    service = processes.start("serve", ["serve", "--host", LOOPBACK, "--port", str(port)], env)
    service.base_url = f"http://{LOOPBACK}:{port}"
    wait_for_health(service, timeout=90)
    return service


def postmaster_running(pgdata: Path) -> bool:
    return (pgdata / "postmaster.pid").exists()


def test_sigterm_stops_the_service_and_its_embedded_server(processes: Processes, pgdata: Path) -> None:
    first = serve(processes, pgdata)
    assert postmaster_running(pgdata)
    first.process.send_signal(signal.SIGTERM)
    assert first.process.wait(30) == 0, first.tail()
    eventually(lambda: not postmaster_running(pgdata), 30, "embedded server stopped after SIGTERM")

    # A user killed with -9 stays on the server's list; the next one must still stop the server.
    dead = subprocess.Popen(["true"])
    dead.wait()
    second = serve(processes, pgdata)
    users = pgdata / ".handle_pids.json"
    users.write_text(json.dumps([dead.pid, *json.loads(users.read_text())]))
    third = serve(processes, pgdata)  # starts while the second runs: it prunes the dead one
    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(30) == 0, second.tail()
    assert postmaster_running(pgdata), "stopped while another service still used it"
    third.process.send_signal(signal.SIGTERM)
    assert third.process.wait(30) == 0, third.tail()
    eventually(lambda: not postmaster_running(pgdata), 30, "embedded server stopped by its last user")
