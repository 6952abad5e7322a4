"""`abparts bootstrap`: the fixed organizations and a first super_admin, once; then nothing changes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from api.cli import main
from ledger.postgres.connection import Connection

pytestmark = pytest.mark.db


def as_url(conninfo: str) -> str:
    info = {k: str(v) for k, v in conninfo_to_dict(conninfo).items()}
    return f"postgresql:///{quote(info.pop('dbname'))}?{urlencode(info)}"


def counts(conn: Connection) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM organizations WHERE organization_type IN ('oraseas_ee', 'bossaqua')),"
        " (SELECT count(*) FROM users WHERE role = 'super_admin'),"
        " (SELECT count(*) FROM user_management_audit_logs WHERE action = 'bootstrap')"
    ).fetchone()
    assert row is not None
    return tuple(row)


def test_bootstrap_is_idempotent(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", as_url(fresh_db_url))
    monkeypatch.setenv("ABPARTS_ADMIN_PASSWORD", "s3cret-enough")
    args = ["bootstrap", "--admin-username", "boss", "--admin-email", "boss@example.com"]
    assert main(args) == 0
    assert "super_admin boss" in capsys.readouterr().out
    assert main(args) == 0
    assert "nothing to do" in capsys.readouterr().out
    with psycopg.connect(fresh_db_url) as conn:
        assert counts(conn) == (2, 1, 1)
        row = conn.execute("SELECT password_hash FROM users WHERE username = 'boss'").fetchone()
    assert row is not None and row[0].startswith("$argon2id$")


def test_bootstrap_refuses_a_short_password(fresh_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", as_url(fresh_db_url))
    args = [
        "bootstrap",
        "--admin-username",
        "b",
        "--admin-email",
        "b@example.com",
        "--admin-password",
        "short",
    ]
    assert main(args) == 2
