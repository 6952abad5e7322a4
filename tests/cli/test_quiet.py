"""Quiet by default: a one-off command prints its result only; -v adds the log lines."""

from __future__ import annotations

import pytest

from api.cli import main
from tests.api.test_bootstrap import as_url

pytestmark = pytest.mark.db


def test_migrate_says_one_line_and_verbose_shows_alembics_steps(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", as_url(empty_db_url))
    monkeypatch.setenv("ABPARTS_LOG_JSON", "false")
    assert main(["migrate"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == ""
    assert quiet.out.startswith("database migrated to head") and quiet.out.count("\n") == 1
    assert main(["-v", "migrate"]) == 0
    assert "INFO alembic.runtime.migration" in capsys.readouterr().err
