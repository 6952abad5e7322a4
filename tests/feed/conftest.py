"""Feed fixtures: a nats-server of the test's own, a database of its own, and its processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Processes, subprocess_url
from tests.feed.broker import NatsServer, nats_server_binary


@pytest.fixture(scope="session")
def nats_binary() -> str:
    return nats_server_binary()


@pytest.fixture
def broker(nats_binary: str, tmp_path: Path) -> Iterator[NatsServer]:
    """A running nats-server with JetStream, killed at the end of the test."""
    server = NatsServer(nats_binary, tmp_path / "jetstream", tmp_path / "nats-server.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """The test's `abparts` processes, killed at the end whatever happened."""
    owner = Processes(tmp_path)
    try:
        yield owner
    finally:
        owner.stop_all()


@pytest.fixture
def feed_db(fresh_db_url: str) -> str:
    """The test's own migrated database, as the URL an `abparts` process accepts."""
    return subprocess_url(fresh_db_url)
