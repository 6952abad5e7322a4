"""Progress of a long run: a bar with events/s and ETA on a terminal, a plain line now and then otherwise."""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """Reports `done` out of `total` events to `out`."""

    def __init__(self, total: int, out: TextIO, label: str, every: float = 5.0) -> None:
        self.total = max(total, 0)
        self.out = out
        self.label = label
        self.every = every
        self.started = time.monotonic()
        self._last = 0.0
        self._tty = out.isatty()

    def update(self, done: int, *, final: bool = False) -> None:
        """Report that `done` events are through."""
        now = time.monotonic()
        if not final and now - self._last < (0.2 if self._tty else self.every):
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        left = max(self.total - done, 0)
        eta = f"{left / rate:.0f}s" if rate > 0 and left else "0s"
        share = done / self.total if self.total else 1.0
        if self._tty:
            bar = "#" * int(share * 30)
            end = "\n" if final else ""
            self.out.write(
                f"\r{self.label} [{bar:<30}] {done}/{self.total} {rate:,.0f} events/s ETA {eta}   {end}"
            )
        else:
            self.out.write(f"{self.label}: {done}/{self.total} events, {rate:,.0f} events/s, ETA {eta}\n")
        self.out.flush()
