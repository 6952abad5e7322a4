"""`abparts bootstrap` run again under another username adds no second super_admin."""

from __future__ import annotations

import psycopg
import pytest

from api.cli import main
from tests.api.test_bootstrap import as_url, counts

pytestmark = pytest.mark.db


def test_a_second_bootstrap_with_another_username_changes_nothing(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", as_url(fresh_db_url))
    monkeypatch.setenv("ABPARTS_ADMIN_PASSWORD", "s3cret-enough")
    assert main(["bootstrap", "--admin-username", "boss", "--admin-email", "boss@example.com"]) == 0
    assert "super_admin boss" in capsys.readouterr().out
    assert main(["bootstrap", "--admin-username", "other", "--admin-email", "other@example.com"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "nothing to do: already bootstrapped: super_admin boss exists"
    with psycopg.connect(fresh_db_url) as conn:
        assert counts(conn) == (2, 1, 1)
        users = conn.execute("SELECT username FROM users ORDER BY username").fetchall()
    assert users == [("boss",)]


def test_a_first_bootstrap_under_a_taken_name_is_refused_not_called_done(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        org = conn.execute(
            "INSERT INTO organizations (name, organization_type) VALUES ('Acme', 'customer') RETURNING id"
        ).fetchone()
        assert org is not None
        conn.execute(
            "INSERT INTO users (organization_id, username, email, password_hash, role)"
            " VALUES (%s, 'boss', 'boss@example.com', 'x', 'user')",
            [org[0]],
        )
    monkeypatch.setenv("DATABASE_URL", as_url(fresh_db_url))
    monkeypatch.setenv("ABPARTS_ADMIN_PASSWORD", "s3cret-enough")
    assert main(["bootstrap", "--admin-username", "boss", "--admin-email", "boss@example.com"]) == 2
    assert "is no super_admin" in capsys.readouterr().err
    with psycopg.connect(fresh_db_url) as conn:
        admins = conn.execute("SELECT count(*) FROM users WHERE role = 'super_admin'").fetchone()
    assert admins == (0,)
