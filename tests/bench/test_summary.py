"""`make bench` ends with one table of every benchmark's targets, from the results of this run only."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench.__main__ import render, summary


def _result(out: Path, name: str, stamp: str, targets: list[dict[str, object]], mtime: float) -> None:
    path = out / f"{name}-{stamp}.json"
    path.write_text(json.dumps({"benchmark": name, "targets": targets}))
    os.utime(path, (mtime, mtime))


def test_the_summary_takes_each_benchmarks_latest_result_of_this_run(tmp_path: Path) -> None:
    old = {"target": "old", "measured": "1", "met": True}
    new = {"target": "rate >= 50% of raw", "measured": "10 vs 100 (10%)", "met": False}
    _result(tmp_path, "append", "20260101T000000Z", [old], mtime=1_000)
    _result(tmp_path, "append", "20260102T000000Z", [new], mtime=2_000)
    _result(tmp_path, "asof", "20250101T000000Z", [old], mtime=1_000)

    rows = summary(tmp_path, since=1_500)

    assert rows == [{"benchmark": "append"} | new]
    assert "| append | rate >= 50% of raw | 10 vs 100 (10%) | MISSED |" in render(rows)
