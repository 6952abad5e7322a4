"""One timer on the event loop for every command awaiting its committer, instead of one per command.

Each command submitted to the group committers is awaited for at most ABPARTS_DATABASE_TIMEOUT.
`asyncio.timeout` around each wait scheduled a timer and cancelled it again, about 6 us of the
event loop a command (py-spy under the POST load, issue 12). Every wait has the same bound, so the
deadlines come in the order the commands are submitted: `Deadlines` keeps the waits in that order
with one timer, set for the oldest wait still open. A wait answered already is dropped from the
front as new ones come; when the timer fires, each wait past its deadline gets `TimeoutError` (what
the `asyncio.timeout` raised) and its command is withdrawn if its batch has not started.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol


class Awaited(Protocol):
    """A command's wait (the committer's `enqueue` gives one): its answer, and its withdrawal."""

    @property
    def answer(self) -> asyncio.Future[Any]:
        """What the wait is for."""

    def withdraw(self) -> None:
        """Withdraw the command if its batch has not started."""


class Deadlines:
    """The open waits of one event loop, oldest first, and the one timer for the oldest."""

    __slots__ = ("_loop", "_open", "_timer", "timeout")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._loop = loop
        self.timeout = timeout
        self._open: deque[tuple[float, Awaited]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def serves(self, awaited: Awaited) -> bool:
        """Whether `awaited` is answered on this one's loop (an app served by two clients has two)."""
        return awaited.answer.get_loop() is self._loop

    def watch(self, awaited: Awaited) -> None:
        """Bound the wait for `awaited.answer` by the timeout (on the loop it was made for)."""
        waits = self._open
        while waits and waits[0][1].answer.done():  # answered: nothing to bound any more
            waits.popleft()
        deadline = self._loop.time() + self.timeout
        waits.append((deadline, awaited))
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._expire)

    def _expire(self) -> None:
        """Fail each wait past its deadline with TimeoutError; set the timer for the next."""
        self._timer = None
        waits, now = self._open, self._loop.time()
        while waits and (waits[0][1].answer.done() or waits[0][0] <= now):
            _, awaited = waits.popleft()
            if not awaited.answer.done():
                awaited.answer.set_exception(TimeoutError())
                awaited.withdraw()  # its command, if its batch has not started
        if waits:
            self._timer = self._loop.call_at(waits[0][0], self._expire)

    def close(self) -> None:
        """Stop the timer (the app is stopping)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._open.clear()
