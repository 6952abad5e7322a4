"""A nats-server of the test's own: a process on a free loopback port with JetStream on a temp store.

Never the machine's server on 4222. The binary comes from Debian's `nats-server` package;
`nats_server_binary()` installs it when it is missing and we may (root with apt-get), and
otherwise fails with what to do.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.faults.harness import LOOPBACK, free_port

CANDIDATES = ("/usr/sbin/nats-server", "/usr/bin/nats-server")


def _found() -> str | None:
    on_path = shutil.which("nats-server")
    return on_path or next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def nats_server_binary() -> str:
    """The nats-server executable, installed from Debian's package first if it is missing."""
    found = _found()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "nats-server"]):
            quiet = subprocess.DEVNULL
            subprocess.run(command, check=False, stdout=quiet, stderr=quiet, timeout=600)
        found = _found()
    if found is None:
        pytest.fail("nats-server is missing: install Debian's package (apt-get install nats-server)")
    return found


class NatsServer:
    """One nats-server process with JetStream; kill and start it again on the same port and store."""

    def __init__(self, binary: str, store: Path, log: Path) -> None:
        self.binary = binary
        self.store = store
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        args = [self.binary, "-a", LOOPBACK, "-p", str(self.port), "-js", "-sd", str(self.store)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"nats-server exited:\n{self.log.read_text(errors='replace')}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nats-server did not start in 10 s")

    def kill(self) -> None:
        """SIGKILL the server (its store on disk stays)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
