"""Kill -9 the API process under load: every acknowledged command is in the log once, retries included.

The client keeps its contract: a command without an answer (connection reset
or refused while the API is dead) is sent again with the same Idempotency-Key
until it is acknowledged. POST /transactions is a stock command route: the
middleware claims nothing for it (the ledger alone keeps its keys, in the
command's own transaction), so a request in flight at the kill leaves no claim,
and its retry runs again: the ledger returns the first result if the command had
committed. No retry meets a 409 request_in_progress (it did while the middleware
claimed these keys: until the claim was a minute old). The two variants are
from then: the default one still ages any claim left (there is none), the slow
one still waits the minute.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import (
    Load,
    Processes,
    age_stale_claims,
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

pytestmark = [pytest.mark.faults, pytest.mark.db]
THREADS = 4


@pytest.mark.parametrize(
    "wait_a_minute",
    [
        pytest.param(False, id="claims-aged"),
        pytest.param(True, id="claims-expire", marks=[pytest.mark.slow, pytest.mark.timeout(240)]),
    ],
)
def test_kill_9_api_under_load_loses_and_repeats_nothing(
    processes: Processes, service_db: str, wait_a_minute: bool
) -> None:
    api = processes.api(service_db, wait=False)  # starts while the admin is bootstrapped
    bootstrap(processes, service_db)
    with connection(service_db) as conn:
        site = make_site(conn)
        wait_for_health(api)
        assert api.base_url is not None
        base_url = api.base_url
        headers = sign_in(base_url)
        others = warm_up(conn, base_url, headers, site)
        load = Load(lambda: [base_url], headers, site, commands=200, threads=THREADS, deadline_seconds=150)
        load.start()

        eventually(lambda: load.acked >= 50, 30, "first commands acknowledged")
        api.kill9()
        killed_at = load.acked
        time.sleep(0.5)  # meanwhile requests meet a closed port: no answer, retried
        restarted = processes.api(service_db, port=int(base_url.rsplit(":", 1)[1]))
        # The middleware claims no key of a stock command: the kill leaves no claim for a retry to meet.
        stale = age_stale_claims(conn) if not wait_a_minute else 0
        assert stale == 0
        load.join()
        print(f"killed after {killed_at} acknowledged; {stale} stale claims; {load.summary()}")

        assert killed_at < load.commands, "the kill came after the load: nothing was in flight"
        assert restarted.alive()
        unexpected = {s: n for s, n in load.statuses().items() if s not in (201, None)}
        assert not unexpected, f"answers other than 201 or none: {unexpected}"
        check_exactly_once(conn, load, others)
        wait_until_caught_up(conn)
        check_applied_once(conn)
    verify(processes, service_db)
