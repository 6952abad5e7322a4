"""Run every benchmark (for now: projections) with the same arguments: `python -m bench [args]`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from bench import projections

BENCHMARKS: dict[str, Callable[[Sequence[str] | None], int]] = {
    "projections": projections.main,
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
