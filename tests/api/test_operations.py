"""Operations endpoints and signals: readiness, Prometheus metrics, request ids in JSON logs."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.runtime.logs import JsonFormatter
from tests.fixtures.ledger import Conn
from tests.fixtures.shop import Shop, stock_in

pytestmark = pytest.mark.db


def test_ready_reports_projection_lag(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200, response.text
    assert set(response.json()["lag_seconds"]) >= {"inventory", "transactions"}


def _sample(text: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_metrics_count_commands_events_errors_and_time_routes(client: TestClient, shop: Shop) -> None:
    commands, events = (
        'abparts_commands_total{command="CreateStock"}',
        ('abparts_events_appended_total{event_type="StockCreated"}'),
    )
    before = client.get("/metrics").text
    stock_in(client, shop, "1")
    stock_in(client, shop, "2")
    client.post("/transactions", json={"transaction_type": "creation"}, headers=shop.admin.headers)
    text = client.get("/metrics").text
    assert _sample(text, commands) == _sample(before, commands) + 2
    assert _sample(text, events) == _sample(before, events) + 2
    assert 'abparts_errors_total{code="validation_error",status="422"}' in text
    assert (
        'abparts_http_request_duration_seconds_bucket{le="0.01",method="POST",route="/transactions"' in text
    )
    assert 'abparts_projection_lag_events{projection="inventory"}' in text


def test_request_id_is_echoed_and_in_every_log_line(
    client: TestClient, shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    # The command's own line is at DEBUG (ABPARTS_LOG_LEVEL=DEBUG): none per request at INFO.
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/transactions",
            json={
                "transaction_type": "creation",
                "part_id": str(shop.part),
                "to_warehouse_id": str(shop.a),
                "quantity": "1",
            },
            headers=shop.admin.headers | {"X-Request-ID": "req-42"},
        )
    assert response.headers["x-request-id"] == "req-42"
    lines = [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name.startswith(("api", "abparts"))
    ]
    command = next(line for line in lines if line["message"] == "command recorded")
    assert command["request_id"] == "req-42" and command["position"] == response.json()["position"]
    assert all(line["request_id"] == "req-42" for line in lines), lines
    made_up = client.get("/health")
    assert len(made_up.headers["x-request-id"]) == 32


def test_a_command_writes_no_log_line_at_info(
    client: TestClient, shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"transaction_type": "creation", "part_id": str(shop.part), "to_warehouse_id": str(shop.a)}
    with caplog.at_level(logging.INFO):
        response = client.post("/transactions", json=body | {"quantity": "1"}, headers=shop.admin.headers)
    assert response.status_code == 201, response.text
    assert [r.getMessage() for r in caplog.records if r.name.startswith(("api", "abparts", "uvicorn"))] == []


def test_an_event_carries_the_request_id_of_its_log_lines(client: TestClient, shop: Shop, db: Conn) -> None:
    body = {"transaction_type": "creation", "part_id": str(shop.part), "to_warehouse_id": str(shop.a)}
    response = client.post("/transactions", json=body | {"quantity": "1"}, headers=shop.admin.headers)
    stored = db.execute(
        "SELECT request_id FROM ledger_events WHERE position = %s", [response.json()["position"]]
    ).fetchone()
    assert stored == (response.headers["x-request-id"],)


def test_a_refused_command_wakes_the_projectors_it_held_back(fresh_db_url: str) -> None:
    # Polling is slow here, so only a wake-up can make the read below succeed in time.
    from api.runtime.seed import bootstrap
    from tests.fixtures.api import PASSWORD, Caller, api_settings
    from tests.fixtures.shop import post

    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        done = bootstrap(conn, "waker", "waker@example.com", PASSWORD)
    settings = api_settings(projector_poll_interval=30, read_wait_timeout=3)
    with TestClient(create_app(settings, fresh_db_url)) as client, psycopg.connect(fresh_db_url) as other:
        token = client.post("/token", data={"username": "waker", "password": PASSWORD}).json()["access_token"]
        root = Caller(done.admin_id, done.oraseas_id, "waker", {"Authorization": f"Bearer {token}"})
        warehouse = post(client, root, "/warehouses", {"name": "depot"}).json()["id"]
        part = post(client, root, "/parts", {"part_number": "W1", "name": "wheel"}).json()["id"]
        creation = {"transaction_type": "creation", "to_warehouse_id": warehouse, "quantity": "2"}
        other.execute("SELECT pg_current_xact_id()")  # an older transaction: it holds the horizon back
        created = post(client, root, "/transactions", creation | {"part_id": part})
        assert created.status_code == 201, created.text
        time.sleep(0.5)  # the woken workers step, and leave the event behind the horizon
        other.rollback()  # it ends with no wake-up of its own
        refused = post(client, root, "/transactions", creation | {"part_id": str(uuid.uuid4())})
        assert refused.status_code == 422, refused.text
        read = client.get(
            "/inventory", params={"min_position": created.json()["position"]}, headers=root.headers
        )
        assert read.status_code == 200, read.text
        assert [i["current_stock"] for i in read.json()["items"]] == ["2.000"]
