"""Each `abparts verify` and `abparts audit` run is kept in check_runs: time, outcome, summary, document."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from api.cli import main
from api.runtime import check_runs
from projections.registry import ALL
from projections.tools.rebuild import rebuild
from tests.fixtures.ledger import Conn, Site

pytestmark = pytest.mark.db


def runs(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT check_name, ok, summary, details, started_at <= finished_at FROM check_runs ORDER BY id"
    ).fetchall()


def test_verify_runs_are_kept_passed_and_failed(
    small_ledger: tuple[Conn, Site], capsys: pytest.CaptureFixture[str]
) -> None:
    conn, _ = small_ledger
    rebuild(conn, ALL, io.StringIO())
    assert runs(conn) == []
    before = datetime.now(UTC)
    assert main(["verify", "--json"]) == 0
    passed = json.loads(capsys.readouterr().out)
    conn.execute("UPDATE inventory SET current_stock = current_stock + 1")
    assert main(["verify"]) == 1  # the lines for a person: kept all the same
    kept = runs(conn)
    assert [(name, ok) for name, ok, *_ in kept] == [("verify", True), ("verify", False)]
    assert kept[0][3] == passed  # the --json document is the run's details
    assert kept[0][2] == f"{len(ALL)} projections, 6 events: OK"
    assert kept[1][2].startswith(f"{len(ALL)} projections, 6 events: FAILED: 1 differences")
    assert kept[1][3]["differences"][0]["table"] == "inventory"
    assert all(ordered for *_, ordered in kept)
    latest = check_runs.latest(conn)
    assert set(latest) == {"verify"}
    assert latest["verify"].ok is False and latest["verify"].finished_at >= before


def test_audit_runs_are_kept_and_a_file_audit_is_not(
    small_ledger: tuple[Conn, Site], capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    conn, _ = small_ledger
    assert main(["seal"]) == 0
    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "OK: every hash chain and seal holds" in out
    [(name, ok, summary, details, _)] = runs(conn)
    assert (name, ok) == ("audit", True)
    assert summary == "checked 6 events in 5 streams and 1 seals: OK"
    assert details["source"] == "database" and details["problems"] == []
    # An export checked offline has no database to be kept in: nothing more is recorded.
    export = tmp_path / "export.jsonl"
    assert main(["export", "--format", "jsonl", "--output", str(export)]) == 0
    assert main(["audit", "--file", str(export)]) == 0
    assert len(runs(conn)) == 1
    latest = check_runs.latest(conn)["audit"]
    assert latest.ok and latest.details == details
