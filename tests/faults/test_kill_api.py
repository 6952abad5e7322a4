"""Kill -9 the API process under load: every acknowledged command is in the log once, retries included.

The client keeps its contract: a command without an answer (connection reset
or refused while the API is dead) is sent again with the same Idempotency-Key
until it is acknowledged. A request in flight at the kill leaves its key
claimed; the middleware answers 409 request_in_progress for that key until the
claim is a minute old and then runs it again, and the ledger's own idempotency
returns the first result if the command had committed. The default-suite
variant moves those claims' clock back a minute instead of waiting it out; the
slow one waits.
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
        # What the kill left unanswered: per client thread, the claim of the request in flight and perhaps
        # that of the one before (uvicorn reads the next request first). Claims the ledger answered (its
        # commit done) are not counted: a retry takes them over at once.
        stale = age_stale_claims(conn) if not wait_a_minute else 0
        assert stale <= 2 * THREADS
        load.join()
        print(f"killed after {killed_at} acknowledged; {stale} stale claims; {load.summary()}")

        assert killed_at < load.commands, "the kill came after the load: nothing was in flight"
        assert restarted.alive()
        unexpected = {s: n for s, n in load.statuses().items() if s not in (201, 409, None)}
        assert not unexpected, f"answers other than 201, 409 request_in_progress or none: {unexpected}"
        assert all(a.code == "request_in_progress" for a in load.attempts if a.status == 409)
        check_exactly_once(conn, load, others)
        wait_until_caught_up(conn)
        check_applied_once(conn)
    verify(processes, service_db)
