"""Commands that do not own the schema refuse an outdated one (exit 2) instead of migrating it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic.script import ScriptDirectory
from psycopg import sql

from api.cli import main
from api.runtime.database import alembic_config, migrate, schema_revision
from tests.api.test_bootstrap import as_url
from tests.fixtures.database import _drop, _with_dbname

pytestmark = pytest.mark.db

# Every command that reads, or writes only data: none may change the schema.
CHECKING = [
    ["verify"],
    ["audit"],
    ["status"],
    ["export", "--format", "jsonl"],
    ["stock", "--position", "1"],
    ["seal"],
    ["rebuild"],
]


def revisions() -> tuple[str, str]:
    """This version's head and the revision before it."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    head = script.get_current_head()
    assert head is not None
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    return head, previous


def _new_database(server_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


@pytest.fixture(scope="module")
def older_db_url(server_url: str) -> Iterator[str]:
    """A database migrated to the revision before head, as the release before this one left it."""
    name = _new_database(server_url, "abparts_older")
    url = _with_dbname(server_url, name)
    migrate(url, revisions()[1])
    yield url
    _drop(server_url, name)


@pytest.fixture(scope="module")
def never_migrated_url(server_url: str) -> Iterator[str]:
    """A database nothing was ever migrated into."""
    name = _new_database(server_url, "abparts_never")
    yield _with_dbname(server_url, name)
    _drop(server_url, name)


def tables(url: str) -> list[Any]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()


@pytest.mark.parametrize("args", CHECKING, ids=lambda a: a[0])
def test_an_outdated_schema_is_reported_not_migrated(
    older_db_url: str, args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head, previous = revisions()
    monkeypatch.setenv("DATABASE_URL", as_url(older_db_url))
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"abparts: the database schema is at revision {previous}, this version needs {head}:"
        " run `abparts migrate`\n"
    )
    assert schema_revision(older_db_url) == previous


@pytest.mark.parametrize("args", CHECKING, ids=lambda a: a[0])
def test_a_never_migrated_database_is_reported_and_left_empty(
    never_migrated_url: str,
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    head, _ = revisions()
    monkeypatch.setenv("DATABASE_URL", as_url(never_migrated_url))
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"abparts: the database has no schema yet (never migrated), this version needs {head}:"
        " run `abparts migrate`\n"
    )
    assert schema_revision(never_migrated_url) is None and tables(never_migrated_url) == []


def test_a_schema_newer_than_this_version_is_not_taken_for_an_old_one(
    fresh_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    monkeypatch.setenv("DATABASE_URL", as_url(fresh_db_url))
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "at revision 9999_from_the_future, which this version does not know" in err
    assert "abparts migrate" not in err


def test_after_migrate_the_checking_commands_run(
    empty_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head, previous = revisions()
    migrate(empty_db_url, previous)
    monkeypatch.setenv("DATABASE_URL", as_url(empty_db_url))
    assert main(["migrate"]) == 0
    assert schema_revision(empty_db_url) == head
    assert main(["status"]) == 0 and main(["audit"]) == 0
    assert "OK: every hash chain and seal holds" in capsys.readouterr().out
