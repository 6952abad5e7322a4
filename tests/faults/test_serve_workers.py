"""`abparts serve` with several worker processes: a listening socket each, a frozen start-up heap each.

api/runtime/workers.py (SO_REUSEPORT: the kernel spreads connections over the processes) and
api/runtime/heap.py (the full garbage collections skip the start-up heap).
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from api.runtime import workers
from api.runtime.serving import served_app
from api.runtime.settings import Settings
from tests.faults.harness import Processes, Service, eventually
from tests.fixtures.processes import listening_sockets, spawned

pytestmark = [pytest.mark.faults]
linux_only = pytest.mark.skipif(not workers.available(), reason="SO_REUSEPORT spreads connections on Linux")

FROZEN = "start-up heap frozen"
NOWHERE = "postgresql://nobody@127.0.0.1:1/none"


@pytest.fixture
def thawed() -> Iterator[None]:
    """This test process's heap unfrozen before and after (a frozen heap would outlive the test)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.parametrize("freeze", [True, False])
def test_the_served_app_freezes_the_heap_unless_told_not_to(thawed: None, freeze: bool) -> None:
    served_app(Settings(database_url=NOWHERE, gc_freeze=freeze), NOWHERE)  # the lifespan opens the pool
    # The app, its routes and models, and every module imported for them: tens of thousands of objects.
    assert (gc.get_freeze_count() > 20_000) is freeze


def port_of(service: Service) -> int:
    assert service.base_url is not None
    return int(service.base_url.rsplit(":", 1)[1])


@linux_only
@pytest.mark.db
def test_every_worker_listens_on_a_socket_of_its_own_and_freezes_its_heap(
    processes: Processes, service_db: str
) -> None:
    api = processes.api(service_db, ABPARTS_WORKERS="2", ABPARTS_RUN_PROJECTORS="false")
    eventually(lambda: api.tail(200).count(FROZEN) == 2, 30, "two workers' heaps frozen")
    eventually(lambda: listening_sockets(port_of(api)) == 2, 30, "two listening sockets")


@pytest.mark.db
def test_without_reuse_port_the_workers_share_one_socket(processes: Processes, service_db: str) -> None:
    api = processes.api(
        service_db, ABPARTS_WORKERS="2", ABPARTS_RUN_PROJECTORS="false", ABPARTS_REUSE_PORT="false"
    )
    eventually(lambda: api.tail(200).count(FROZEN) == 2, 30, "two workers' heaps frozen")
    assert listening_sockets(port_of(api)) == 1


@linux_only
@pytest.mark.db
def test_a_worker_that_dies_is_replaced(processes: Processes, service_db: str) -> None:
    api = processes.api(service_db, ABPARTS_WORKERS="2", ABPARTS_RUN_PROJECTORS="false")
    eventually(lambda: listening_sockets(port_of(api)) == 2, 30, "two listening sockets")
    before = spawned(api.process.pid)
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    eventually(lambda: victim not in spawned(api.process.pid), 10, "the killed worker gone")

    def replaced() -> bool:
        # Both at once: a killed process's socket can outlive it for a moment (seen once under load).
        return len(spawned(api.process.pid) - before) == 1 and listening_sockets(port_of(api)) == 2

    eventually(replaced, 60, "a new worker listening")
    for _ in range(8):  # new connections, spread over both sockets: each is answered
        assert httpx.get(f"{api.base_url}/health", timeout=10).status_code == 200
