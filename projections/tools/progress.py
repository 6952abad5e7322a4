"""Progress of a long run: rich's bar (rate, ETA) on a terminal, a plain line now and then otherwise.

Written to whatever stream the caller gives (the CLI gives stderr), so stdout keeps only results.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeRemainingColumn
from rich.progress import Progress as Bar


class Progress:
    """Reports `done` out of `total` events to `out`; use it as a context manager (it ends the bar)."""

    def __init__(self, total: int, out: TextIO, label: str, every: float = 5.0) -> None:
        self.total = max(total, 0)
        self.out = out
        self.label = label
        self.every = every
        self.started = time.monotonic()
        self._last = 0.0
        self._shown = -1  # the count of the last plain line: the final one is not printed twice
        self._bar: Bar | None = None
        self._task: TaskID | None = None
        if out.isatty():
            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} events/s"),
                TimeRemainingColumn(),
                console=Console(file=out),
            )
            self._task = self._bar.add_task(label, total=self.total, rate="0")
            self._bar.start()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, done: int, *, final: bool = False) -> None:
        """Report that `done` events are through."""
        now = time.monotonic()
        rate = done / max(now - self.started, 1e-9)
        if self._bar is not None and self._task is not None:
            # The done count may pass the total: the log grows while a rebuild runs.
            self._bar.update(self._task, completed=done, total=max(self.total, done), rate=f"{rate:,.0f}")
            return
        if (not final and now - self._last < self.every) or (final and done == self._shown):
            return
        self._last, self._shown = now, done
        left = max(self.total - done, 0)
        eta = f"{left / rate:.0f}s" if rate > 0 and left else "0s"
        self.out.write(f"{self.label}: {done}/{self.total} events, {rate:,.0f} events/s, ETA {eta}\n")
        self.out.flush()
