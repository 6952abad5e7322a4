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
