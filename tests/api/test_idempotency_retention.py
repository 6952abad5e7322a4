"""Idempotency keys are forgotten after the retention: by `abparts prune` and by the API process."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.cli import main
from api.http.app import create_app
from api.http.middleware.idempotency_retention import prune
from tests.api.test_bootstrap import as_url
from tests.fixtures.api import api_settings
from tests.fixtures.ledger import Conn

pytestmark = pytest.mark.db


def keys_of_age(conn: Conn, **ages: timedelta) -> dict[str, tuple[bytes, str]]:
    """An HTTP answer and a ledger key stored `age` ago for each name given; their keys by name."""
    keys = {}
    for name, age in ages.items():
        api_key, ledger_key = hashlib.sha256(uuid.uuid4().bytes).digest(), f"{uuid.uuid4()}:{name}"
        conn.execute(
            "INSERT INTO api_idempotency (key, fingerprint, status_code, headers, body, created_at)"
            " VALUES (%s, '\\x00', 201, '[]', '{}', now() - %s)",
            [api_key, age],
        )
        conn.execute(
            "INSERT INTO ledger_idempotency (key, request_hash, result, created_at)"
            " VALUES (%s, '\\x00', '{}', now() - %s)",
            [ledger_key, age],
        )
        keys[name] = (api_key, ledger_key)
    return keys


def kept(conn: Conn, keys: tuple[bytes, str]) -> tuple[bool, bool]:
    """Whether the HTTP answer and the ledger key are still there."""
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM api_idempotency WHERE key = %s),"
        " EXISTS (SELECT FROM ledger_idempotency WHERE key = %s)",
        list(keys),
    ).fetchone()
    assert row is not None
    return bool(row[0]), bool(row[1])


def test_prune_forgets_keys_older_than_the_retention_and_keeps_newer_ones(fresh_db_url: str) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        keys = keys_of_age(conn, old=timedelta(hours=25), new=timedelta(hours=23))
        pruned = prune(conn, timedelta(hours=24))
        assert (pruned.answers, pruned.commands) == (1, 1)
        assert kept(conn, keys["old"]) == (False, False)
        assert kept(conn, keys["new"]) == (True, True)


def test_abparts_prune_uses_the_retention_setting(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        keys = keys_of_age(conn, old=timedelta(hours=3), new=timedelta(minutes=30))
        monkeypatch.setenv("DATABASE_URL", as_url(fresh_db_url))
        monkeypatch.setenv("ABPARTS_IDEMPOTENCY_RETENTION", "PT1H")
        assert main(["prune"]) == 0
        assert "forgot 1 HTTP answers and 1 ledger keys older than 1:00:00" in capsys.readouterr().out
        assert kept(conn, keys["old"]) == (False, False)
        assert kept(conn, keys["new"]) == (True, True)


def test_the_api_process_prunes_in_the_background(fresh_db_url: str) -> None:
    settings: dict[str, Any] = {"run_projectors": False, "idempotency_prune_interval": 0.05}
    app = create_app(api_settings(idempotency_retention=timedelta(hours=1), **settings), fresh_db_url)
    with psycopg.connect(fresh_db_url, autocommit=True) as conn, TestClient(app):
        keys = keys_of_age(conn, old=timedelta(hours=2), new=timedelta(minutes=1))
        deadline = time.monotonic() + 10
        while kept(conn, keys["old"]) != (False, False) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kept(conn, keys["old"]) == (False, False)
        assert kept(conn, keys["new"]) == (True, True)
