"""The feed's lag where operators look: `abparts status`, /ready and /metrics, only when it is configured."""

from __future__ import annotations

import io

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from bench import dataset
from projections.engine.runner import ensure_checkpoints
from projections.feed import FEED
from projections.registry import ALL
from projections.tools.rebuild import rebuild
from tests.faults.harness import Processes, service_env, subprocess_url
from tests.fixtures.api import api_settings

pytestmark = [pytest.mark.db]

UNREACHABLE = "nats://127.0.0.1:9"  # nothing publishes in these tests: the feed only lags


@pytest.fixture
def lagging_db(fresh_db_url: str) -> str:
    """A log of old events, every projection caught up with it, and a feed checkpoint at its start."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        dataset.create_reference(conn)
        dataset.generate(conn, 200)
        rebuild(conn, ALL, io.StringIO())  # a projection that never ran lags too: these have run
        ensure_checkpoints(conn, (FEED,))
    return fresh_db_url


def test_ready_and_metrics_show_the_feed_lag_when_it_is_configured(lagging_db: str) -> None:
    app = create_app(api_settings(run_projectors=False, nats_url=UNREACHABLE), lagging_db)
    with TestClient(app) as client:
        ready = client.get("/ready")
        metrics = client.get("/metrics").text
    assert ready.status_code == 503
    assert ready.json()["code"] == "projections_lagging"
    assert set(ready.json()["lag_seconds"]) == {"nats_feed"}
    assert 'abparts_projection_lag_events{projection="nats_feed"} 200.0' in metrics


def test_without_a_nats_url_the_feed_is_not_watched(lagging_db: str) -> None:
    app = create_app(api_settings(run_projectors=False), lagging_db)
    with TestClient(app) as client:
        assert client.get("/ready").status_code == 200
        assert "nats_feed" not in client.get("/metrics").text


def test_status_lists_the_feed_when_it_is_configured(processes: Processes, lagging_db: str) -> None:
    url = subprocess_url(lagging_db)
    listed = processes.run("status", ["status"], service_env(url, ABPARTS_NATS_URL=UNREACHABLE))
    assert listed.process.returncode == 0, listed.tail()
    line = next(line for line in listed.tail().splitlines() if line.startswith("nats_feed"))
    # Fixed-width columns: position, events applied, lag in events.
    assert [line[24:36].strip(), line[36:48].strip(), line[48:58].strip()] == ["0", "0", "200"]
    unset = processes.run("status-unset", ["status"], service_env(url))
    assert "nats_feed" not in unset.tail()


def test_publish_refuses_to_start_without_a_nats_url(processes: Processes, lagging_db: str) -> None:
    refused = processes.run("publish", ["publish"], service_env(subprocess_url(lagging_db)))
    assert refused.process.returncode == 2
    assert "ABPARTS_NATS_URL" in refused.tail()
