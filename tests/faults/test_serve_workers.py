"""`abparts serve` with several worker processes: each freezes its start-up heap (api/runtime/heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.runtime.serving import served_app
from api.runtime.settings import Settings
from tests.faults.harness import Processes, eventually

pytestmark = [pytest.mark.faults]

FROZEN = "start-up heap frozen"


@pytest.fixture
def thawed() -> Iterator[None]:
    """This test process's heap unfrozen before and after (a frozen heap would outlive the test)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.parametrize("freeze", [True, False])
def test_the_served_app_freezes_the_heap_unless_told_not_to(thawed: None, freeze: bool) -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", gc_freeze=freeze)
    served_app(settings, "postgresql://nobody@127.0.0.1:1/none")  # the pool is opened by the lifespan only
    # The app, its routes and models, and every module imported for them: tens of thousands of objects.
    assert (gc.get_freeze_count() > 20_000) is freeze


@pytest.mark.db
def test_every_worker_process_freezes_its_heap(processes: Processes, service_db: str) -> None:
    api = processes.api(service_db, ABPARTS_WORKERS="2", ABPARTS_RUN_PROJECTORS="false")
    eventually(lambda: api.tail(200).count(FROZEN) == 2, 30, "two workers' heaps frozen")
