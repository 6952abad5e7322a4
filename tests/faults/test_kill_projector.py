"""Kill -9 the projector worker process under load: after a restart no event is applied twice or skipped."""

from __future__ import annotations

import pytest

from tests.faults.harness import (
    Conn,
    Load,
    Processes,
    bootstrap,
    check_applied_once,
    check_exactly_once,
    connection,
    eventually,
    make_site,
    sign_in,
    verify,
    wait_for_health,
    wait_until_caught_up,
    warm_up,
)

pytestmark = [pytest.mark.faults, pytest.mark.db, pytest.mark.slow]


def applied(conn: Conn, name: str = "transactions") -> int:
    row = conn.execute("SELECT events_applied FROM projection_checkpoints WHERE name = %s", [name]).fetchone()
    return int(row[0]) if row else 0


def test_kill_9_projector_under_load_applies_every_event_once(processes: Processes, service_db: str) -> None:
    api = processes.api(service_db, wait=False, ABPARTS_RUN_PROJECTORS="false")
    bootstrap(processes, service_db)
    # Small batches: the kill lands between or inside one of many short projection transactions.
    worker = processes.projector(service_db, ABPARTS_PROJECTOR_BATCH_SIZE="7")
    with connection(service_db) as conn:
        site = make_site(conn)
        wait_for_health(api)
        assert api.base_url is not None
        base_url = api.base_url
        headers = sign_in(base_url)
        others = warm_up(conn, base_url, headers, site)
        load = Load(lambda: [base_url], headers, site, commands=300, threads=4).start()

        eventually(lambda: load.acked >= 100 and applied(conn) > 30, 60, "load under way and projected")
        worker.kill9()
        killed_at = applied(conn)
        eventually(lambda: load.acked >= 150, 60, "more commands while no worker runs")
        assert applied(conn) == killed_at, "a projection moved with its only worker dead"
        restarted = processes.projector(service_db, ABPARTS_PROJECTOR_BATCH_SIZE="7")
        load.join()
        print(f"worker killed at {killed_at} events applied; {load.summary()}")

        assert load.statuses() == {201: load.commands}, "the API answered as if nothing happened"
        check_exactly_once(conn, load, others)
        wait_until_caught_up(conn)
        check_applied_once(conn)
        assert restarted.alive() and api.alive()
    verify(processes, service_db)
