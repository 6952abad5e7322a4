"""Run every benchmark with the same arguments: `python -m bench [args]` (e.g. --quick).

Each takes the arguments it knows and ignores the others: projections, append, http, asof, backdate,
feed, ui, in that order.
At the end, every benchmark's targets are printed as one table (target, measured with its baseline
and ratio, met or missed) and written to `summary-<timestamp>.json` beside the benchmarks' own results.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import append, asof, backdate, feed, http, projections, ui
from bench.common import RESULTS, now, write_results

BENCHMARKS: dict[str, Callable[[Sequence[str] | None], int]] = {
    "projections": projections.main,
    "append": append.main,
    "http": http.main,
    "asof": asof.main,
    "backdate": backdate.main,
    "feed": feed.main,
    "ui": ui.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run each benchmark in turn, then the summary; the worst exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--out", type=Path, default=RESULTS)
    results = out.parse_known_args(args)[0].out
    started = now()
    status = 0
    for name, run in BENCHMARKS.items():
        print(f"== {name} ==", file=sys.stderr, flush=True)
        status = max(status, run(args))
    rows = summary(results, started.timestamp())
    print(render(rows))
    write_results("summary", started, results, {"targets": rows})
    return status


def summary(results: Path, since: float) -> list[dict[str, Any]]:
    """Every target of the benchmarks whose results were written since `since`."""
    rows: list[dict[str, Any]] = []
    for name in BENCHMARKS:
        written = [p for p in results.glob(f"{name}-*.json") if p.stat().st_mtime >= since]
        for path in sorted(written)[-1:]:
            rows += [{"benchmark": name} | t for t in json.loads(path.read_text()).get("targets", [])]
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table, ready for a closing note."""
    lines = ["", "summary:", "", "| Benchmark | Target | Measured (baseline, ratio) | |", "|---|---|---|---|"]
    for r in rows:
        verdict = "met" if r["met"] else "MISSED"
        lines.append(f"| {r['benchmark']} | {r['target']} | {r['measured']} | {verdict} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
