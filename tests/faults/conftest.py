"""Fault tests: fixtures owning the processes they start, and which of the tests the default run gets.

The default run (`make test`, or pytest without `-m`) collects every test but
skips the fault tests also marked `slow`; they run when the `-m` expression
names `faults` (`make faults`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Processes, subprocess_url

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "faults" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow fault test: run it with -m faults (make faults)")
    for item in items:
        if item.path.is_relative_to(HERE) and item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Starts the test's `abparts` processes; kills whatever is still running at the end, pass or fail."""
    owner = Processes(tmp_path)
    try:
        yield owner
    finally:
        owner.stop_all()


@pytest.fixture
def service_db(fresh_db_url: str, processes: Processes) -> Iterator[str]:
    """A migrated database of the test's own (on DATABASE_URL's server or the embedded one), as a URL.

    Its processes are stopped before it is dropped.
    """
    yield subprocess_url(fresh_db_url)
    processes.stop_all()
