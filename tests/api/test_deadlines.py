"""The one timer that bounds every wait for the committers (api/http/deadlines.py)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pytest

from api.http.deadlines import Deadlines


@dataclass
class Wait:
    """A wait as the committer's `enqueue` makes it: an answer on the loop, a withdrawal."""

    answer: asyncio.Future[Any]
    future: Future[Any] = field(default_factory=Future)

    def withdraw(self) -> None:
        self.future.cancel()


def test_a_wait_past_its_deadline_fails_with_timeout_and_is_withdrawn_and_an_answered_one_is_not() -> None:
    async def scenario() -> tuple[Wait, Wait, Wait, float]:
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop, 0.05)
        answered, slow = Wait(loop.create_future()), Wait(loop.create_future())
        deadlines.watch(answered)
        deadlines.watch(slow)
        answered.answer.set_result("done")
        await asyncio.sleep(0.03)
        later = Wait(loop.create_future())  # watched after the first deadline's timer was set
        deadlines.watch(later)
        started = loop.time()
        with pytest.raises(TimeoutError):
            await slow.answer
        waited = loop.time() - started
        with pytest.raises(TimeoutError):
            await later.answer  # the timer set again, for the next deadline
        deadlines.close()
        return answered, slow, later, waited

    answered, slow, later, waited = asyncio.run(scenario())
    assert answered.answer.result() == "done" and not answered.future.cancelled()
    assert slow.future.cancelled() and later.future.cancelled()
    assert waited < 0.04  # slow's own deadline (0.05 s after it was watched), not later's


def test_a_wait_answered_in_time_gets_its_answer() -> None:
    async def scenario() -> Any:
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop, 0.05)
        wait = Wait(loop.create_future())
        deadlines.watch(wait)
        loop.call_later(0.01, wait.answer.set_result, 42)
        result = await wait.answer
        await asyncio.sleep(0.08)  # past the deadline: the timer leaves an answered wait alone
        deadlines.close()
        return result, wait

    result, wait = asyncio.run(scenario())
    assert result == 42 and not wait.future.cancelled()
