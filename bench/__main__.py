"""Run every benchmark with the same arguments: `python -m bench [args]` (e.g. --quick).

Each takes the arguments it knows and ignores the others; projections, append, http, asof, in that order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from bench import append, asof, http, projections

BENCHMARKS: dict[str, Callable[[Sequence[str] | None], int]] = {
    "projections": projections.main,
    "append": append.main,
    "http": http.main,
    "asof": asof.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run each benchmark in turn; the worst exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    status = 0
    for name, run in BENCHMARKS.items():
        print(f"== {name} ==", file=sys.stderr, flush=True)
        status = max(status, run(args))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
