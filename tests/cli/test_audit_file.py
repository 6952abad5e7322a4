"""`abparts audit --file` checks a real export with no database: it passes as exported, fails when edited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from ledger.postgres.seals import seal
from tests.fixtures.ledger import Conn, Site

pytestmark = pytest.mark.db


def exported(tmp_path: Path, *extra: str) -> list[str]:
    """The test database exported as JSON Lines through the CLI; its lines."""
    target = tmp_path / "export.jsonl"
    assert main(["export", "--format", "jsonl", "--output", str(target), *extra]) == 0
    return target.read_text(encoding="utf-8").splitlines(keepends=True)


def audit_of(
    tmp_path: Path, lines: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    """Exit status and JSON report of `abparts audit --file` over `lines`, with no database reachable."""
    target = tmp_path / "audited.jsonl"
    target.write_text("".join(lines), encoding="utf-8")
    capsys.readouterr()
    status = main(["audit", "--file", str(target), "--json"])
    return status, json.loads(capsys.readouterr().out)


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point DATABASE_URL nowhere: an offline audit must not need it."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://127.0.0.1:1/nowhere")


def events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if "record" not in json.loads(line)]


def test_a_real_export_passes_offline(
    small_ledger: tuple[Conn, Site], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = exported(tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", "postgresql://127.0.0.1:1/nowhere")
        status, report = audit_of(tmp_path, lines, capsys)
    assert status == 0, report
    assert report["ok"] is True and report["problems"] == []
    assert report["events_checked"] == len(lines) == 6
    assert report["streams_checked"] == len({r["stream_id"] for r in events(lines)})
    positions = sorted(r["position"] for r in events(lines))
    assert (report["first_position"], report["last_position"]) == (positions[0], positions[-1])


def test_a_changed_quantity_fails(
    small_ledger: tuple[Conn, Site], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = exported(tmp_path)
    assert '"quantity":"10"' in lines[0]
    lines[0] = lines[0].replace('"quantity":"10"', '"quantity":"100"')
    status, report = audit_of(tmp_path, lines, capsys)
    assert status == 1
    assert any("content does not match its hash" in p and "line 1:" in p for p in report["problems"])


def test_a_removed_line_fails_by_its_stream_chain(
    small_ledger: tuple[Conn, Site], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = exported(tmp_path)
    records = events(lines)
    # An event its stream goes on after (a held movement, approved later): the next one loses its link.
    index = next(
        i
        for i, r in enumerate(records)
        if any(
            o["stream_id"] == r["stream_id"] and o["stream_version"] > r["stream_version"] for o in records
        )
    )
    del lines[index]
    status, report = audit_of(tmp_path, lines, capsys)
    assert status == 1
    follower = next(
        r for r in records if r["stream_id"] == records[index]["stream_id"] and r is not records[index]
    )
    assert report["problems"] == [
        f"line {records.index(follower)}: {follower['stream_id']}@{follower['stream_version']} (position"
        f" {follower['position']}): the stream's earlier events are not in the file"
    ]


def test_a_reordered_pair_fails(
    small_ledger: tuple[Conn, Site], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = exported(tmp_path)
    lines[1], lines[2] = lines[2], lines[1]
    status, report = audit_of(tmp_path, lines, capsys)
    assert status == 1
    assert any("out of commit-safe order" in p for p in report["problems"])


def test_seals_in_the_export_are_checked_and_catch_a_removed_last_event(
    small_ledger: tuple[Conn, Site], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn, _ = small_ledger
    assert seal(conn) is not None
    lines = exported(tmp_path, "--seals")
    assert json.loads(lines[0])["record"] == "seal"
    status, report = audit_of(tmp_path, lines, capsys)
    assert (status, report["seals_checked"], report["problems"]) == (0, 1, [])
    # The last event alone breaks no chain (nothing follows it in its stream); the seal sees it gone.
    status, report = audit_of(tmp_path, lines[:-1], capsys)
    assert status == 1
    assert report["problems"] == [
        f"seal 1: its last event (position {json.loads(lines[-1])['position']}) is not in the file"
    ]
    # A seal whose digest was changed fails too.
    forged = json.loads(lines[0])
    forged["digest"] = "00" * 32
    status, report = audit_of(tmp_path, [json.dumps(forged) + "\n", *lines[1:]], capsys)
    assert status == 1
    assert report["problems"] == ["seal 1: digest differs: events changed, removed or reordered"]


def test_a_missing_position_is_listed_as_a_gap_and_text_output_names_it(
    small_ledger: tuple[Conn, Site], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = exported(tmp_path)
    records = events(lines)
    # An event that is the last of its stream, from the middle of the file: a gap, nothing else.
    middle = [
        i
        for i, r in enumerate(records[1:-1], start=1)
        if not any(
            o["stream_id"] == r["stream_id"] and o["stream_version"] > r["stream_version"] for o in records
        )
    ]
    assert middle, "the fixture has a stream that ends mid-file"
    gone = records[middle[0]]["position"]
    del lines[middle[0]]
    status, report = audit_of(tmp_path, lines, capsys)
    assert (status, report["gaps"], report["problems"]) == (0, [str(gone)], [])
    target = tmp_path / "audited.jsonl"
    assert main(["audit", "--file", str(target)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == f"GAP position {gone} not in the file (a rolled-back transaction leaves gaps too)"
    assert out[-1] == "OK: every hash, chain and seal in the file holds"


def test_a_line_that_is_no_record_and_a_missing_file(
    no_database: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = audit_of(tmp_path, ["not json\n", '{"position": 1}\n'], capsys)
    assert status == 1
    assert [p.split(":")[0] for p in report["problems"]] == ["line 1", "line 2"]
    assert main(["audit", "--file", str(tmp_path / "absent.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("abparts audit: error: cannot read") and err.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [["--format", "csv", "--seals"], ["--format", "jsonl", "--seals", "--from", "2"]],
    ids=["csv", "from"],
)
def test_seals_are_exported_only_with_the_whole_log_as_json_lines(
    args: list[str], no_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", *args]) == 2
    assert capsys.readouterr().err == (
        "abparts export: error: --seals needs --format jsonl and the whole log (no --from/--to)\n"
    )


def test_events_cut_from_the_front_fail_unless_the_export_is_partial(
    small_ledger: tuple[Conn, Site], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = exported(tmp_path)
    records = events(lines)
    # Cut the first event whose stream goes on later in the file: what is left starts mid-stream.
    index = next(
        i
        for i, r in enumerate(records)
        if any(o["stream_id"] == r["stream_id"] and o["stream_version"] > 1 for o in records)
    )
    cut = lines[index + 1 :]
    status, report = audit_of(tmp_path, cut, capsys)
    assert status == 1
    assert any("the stream's earlier events are not in the file" in p for p in report["problems"])
    target = tmp_path / "partial.jsonl"
    target.write_text("".join(cut), encoding="utf-8")
    assert main(["audit", "--file", str(target), "--partial", "--json"]) == 0
