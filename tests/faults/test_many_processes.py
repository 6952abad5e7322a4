"""Two API processes and two projector worker processes on one database under load."""

from __future__ import annotations

import pytest

from projections.engine.status import status
from projections.registry import ALL
from tests.faults.harness import (
    Load,
    Processes,
    bootstrap,
    check_applied_once,
    check_exactly_once,
    connection,
    make_site,
    sign_in,
    verify,
    wait_for_health,
    wait_until_caught_up,
    warm_up,
)

pytestmark = [pytest.mark.faults, pytest.mark.db, pytest.mark.slow]


def test_two_apis_and_two_workers_project_every_event_once(processes: Processes, service_db: str) -> None:
    apis = [processes.api(service_db, wait=False, ABPARTS_RUN_PROJECTORS="false") for _ in range(2)]
    bootstrap(processes, service_db)
    workers = [processes.projector(service_db, ABPARTS_PROJECTOR_BATCH_SIZE="20") for _ in range(2)]
    with connection(service_db) as conn:
        site = make_site(conn)
        for api in apis:
            wait_for_health(api)
        urls = [api.base_url for api in apis if api.base_url is not None]
        headers = sign_in(urls[0])  # a session is in the database: good for either process
        others = warm_up(conn, urls[1], headers, site)
        load = Load(lambda: urls, headers, site, commands=300, threads=6).start()
        load.join()
        print(load.summary())

        assert load.statuses() == {201: load.commands}, "every command acknowledged at the first attempt"
        check_exactly_once(conn, load, others)
        wait_until_caught_up(conn)
        check_applied_once(conn)
        # Each projection has its active worker (the other process's waits on standby).
        assert all(s.worker_active for s in status(conn, ALL))
        assert all(p.alive() for p in (*apis, *workers))
    verify(processes, service_db)
