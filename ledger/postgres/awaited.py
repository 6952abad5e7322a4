"""A committed command's answer delivered to an event loop: one wake-up of the loop per batch.

`asyncio.wrap_future` on each submission's Future cost the loop two callbacks a command and the
committer thread one `call_soon_threadsafe` each (the future's state copied, then its
cancellation checked back): a batch of 16 woke the loop 16 times from the committer. Instead a
submission made from the loop carries an asyncio future (`Awaited.answer`), and once a batch's
futures are set the committer hands each loop the batch's answers in one callback (`tell_loops`),
which sets them all. The concurrent Future stays the submission's state: `withdraw` cancels it,
and a batch skips a cancelled one, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass

from ledger.results import CommandResult


@dataclass(frozen=True)
class Awaited:
    """A submission made from an event loop: await `answer`; `withdraw` when giving up on it."""

    answer: asyncio.Future[CommandResult]
    future: Future[CommandResult]

    def withdraw(self) -> None:
        """Withdraw the command if its batch has not started (after the wait was cancelled)."""
        self.future.cancel()


def tell_loops(answered: Iterable[Awaited]) -> None:
    """Copy each settled future into its `answer`, in one callback per event loop (any thread)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Awaited]] = {}
    for awaited in answered:
        by_loop.setdefault(awaited.answer.get_loop(), []).append(awaited)
    for loop, told in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nothing waits for these any more
            loop.call_soon_threadsafe(copy_outcomes, told)


def copy_outcomes(told: Iterable[Awaited]) -> None:
    """On the answers' loop: each settled future's result, exception or cancellation into its answer."""
    for awaited in told:
        answer, future = awaited.answer, awaited.future
        if answer.done():  # the wait was given up (cancelled) already
            continue
        if future.cancelled():
            answer.cancel()
        elif (error := future.exception()) is not None:
            answer.set_exception(error)
        else:
            answer.set_result(future.result())
