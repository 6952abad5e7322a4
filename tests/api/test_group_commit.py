"""Stock commands through the process's group committers: batched, each answered alone, bounded waits.

The committers' own connections are not the pool's, so the pool's watchdog does not bound them:
the route's wait does (ABPARTS_DATABASE_TIMEOUT, then 503 `database_unavailable`), and a command
whose batch had not started is withdrawn, not recorded later behind the client's back.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from decimal import Decimal

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from tests.fixtures.api import api_settings
from tests.fixtures.ledger import Conn
from tests.fixtures.shop import Shop

pytestmark = pytest.mark.db


def _creation(shop: Shop, quantity: str = "1") -> dict[str, str]:
    return {
        "transaction_type": "creation",
        "part_id": str(shop.part),
        "to_warehouse_id": str(shop.a),
        "quantity": quantity,
    }


def _logged(db: Conn, request_id: str) -> int:
    row = db.execute("SELECT count(*) FROM ledger_events WHERE request_id = %s", [request_id]).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_concurrent_commands_go_through_the_committer_each_with_its_own_answer(
    api_db_url: str, shop: Shop
) -> None:
    app = create_app(api_settings(run_projectors=False, committers=1), api_db_url)
    bad = _creation(shop) | {"part_id": str(uuid.uuid4())}  # refused alone: an unknown part
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    with TestClient(app) as client:

        def caller(n: int) -> None:
            body = bad if n % 4 == 0 else _creation(shop, str(n))
            response = client.post("/transactions", json=body, headers=shop.admin.headers)
            with lock:
                answers.append((response.status_code, response.text))

        threads = [threading.Thread(target=caller, args=(n,)) for n in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        committers = app.state.committer.members
        ran = sum(c.commands for c in committers)
    assert sorted(status for status, _ in answers) == [201] * 18 + [422] * 6, answers
    assert ran == 24, "the commands did not go through the group committer"
    quantities = sorted(
        Decimal(json.loads(text)["transactions"][0]["quantity"]) for s, text in answers if s == 201
    )
    assert quantities == [Decimal(n) for n in range(24) if n % 4], "an answer is another command's"


def test_a_wait_past_the_database_bound_is_a_503_and_a_keyed_retry_records_once(
    api_db_url: str, shop: Shop, db: Conn
) -> None:
    app = create_app(api_settings(run_projectors=False, committers=1, database_timeout=1.0), api_db_url)
    key, request_id = f"gc-{uuid.uuid4()}", f"gc-{uuid.uuid4().hex}"
    headers = shop.admin.headers | {"Idempotency-Key": key, "X-Request-ID": request_id}
    with TestClient(app) as client, psycopg.connect(api_db_url) as blocker:
        first = client.post("/transactions", json=_creation(shop), headers=shop.admin.headers)
        assert first.status_code == 201, first.text  # the level row exists from here on
        # The level row the creation must lock is held by another transaction.
        blocker.execute(
            "SELECT 1 FROM ledger_stock_levels WHERE warehouse_id = %s AND part_id = %s FOR UPDATE",
            [shop.a, shop.part],
        )
        started = time.monotonic()
        refused = client.post("/transactions", json=_creation(shop, "7"), headers=headers)
        waited = time.monotonic() - started
        blocker.rollback()
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "database_unavailable"
        assert refused.headers["retry-after"]
        assert waited < 4, f"the wait was not bounded: {waited:.1f} s"
        retried = client.post("/transactions", json=_creation(shop, "7"), headers=headers)
    assert retried.status_code == 201, retried.text
    assert _logged(db, request_id) == 1, "the command is not in the log exactly once"


def test_the_linger_setting_reaches_every_committer(api_db_url: str, shop: Shop) -> None:
    app = create_app(api_settings(run_projectors=False, committers=2, committer_linger=0.002), api_db_url)
    with TestClient(app) as client:
        answer = client.post("/transactions", json=_creation(shop), headers=shop.admin.headers)
        assert answer.status_code == 201, answer.text
        assert [m.linger for m in app.state.committer.members] == [0.002, 0.002]
