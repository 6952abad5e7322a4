"""bench.append: the stocktake-only runs, and the stocktake target reported beside its baseline."""

from __future__ import annotations

from typing import Any

from bench.append import judge, parse, runs_of


def _run(kind: str, writers: int, events_per_second: float) -> dict[str, Any]:
    return {"kind": kind, "writers": writers, "mode": "processes", "events_per_second": events_per_second}


def test_stocktake_only_makes_the_stocktake_pairs_at_the_writers_asked() -> None:
    runs = runs_of(parse(["--stocktake", "--stocktake-writers", "1,4"]))

    assert [(kind, writers) for _, kind, writers, _ in runs] == [
        ("raw_batch", 1),
        ("stocktake", 1),
        ("raw_batch", 4),
        ("stocktake", 4),
    ]


def test_every_run_by_default_with_the_stocktakes_at_one_and_two_writers() -> None:
    runs = runs_of(parse([]))

    assert [(k, w) for _, k, w, _ in runs if k in ("raw_batch", "stocktake")] == [
        ("raw_batch", 1),
        ("stocktake", 1),
        ("raw_batch", 2),
        ("stocktake", 2),
    ]
    assert len(runs) == 12


def test_a_target_above_the_runs_baseline_is_said_so_and_still_judged_by_the_target() -> None:
    runs = [_run("raw_batch", 2, 40_000), _run("stocktake", 2, 30_000)]

    [target] = judge(runs)

    assert not target["met"]
    assert target["target_above_baseline"] is True
    assert target["baseline"] == 40_000
    assert "above this run's baseline: 50,000 vs 40,000 events/s (1.25x" in target["measured"]


def test_a_baseline_above_the_target_is_not_flagged() -> None:
    runs = [_run("raw_batch", 1, 60_000), _run("stocktake", 1, 55_000)]

    [target] = judge(runs)

    assert target["met"]
    assert target["target_above_baseline"] is False
    assert "above" not in target["measured"]
