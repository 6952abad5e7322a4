"""The garbage collector held off around a big batch: off inside, on again after, as it was."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from decimal import Decimal
from uuid import uuid4

import pytest

from ledger.commands import CountedItem, CountStock, CreateStock
from ledger.postgres import collection


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_off_inside_and_on_again_after() -> None:
    with collection.held_off(True):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_on_again_after_an_error() -> None:
    with pytest.raises(RuntimeError), collection.held_off(True):
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_left_alone_when_not_asked() -> None:
    with collection.held_off(False):
        assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    with collection.held_off(True):
        pass
    assert not gc.isenabled()


def test_overlapping_batches_turn_it_on_when_the_last_ends() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        first_in.wait()
        with collection.held_off(True):
            second_in.set()
            first_out.wait()
            seen.append(gc.isenabled())  # the first batch ended while this one runs: still off

    thread = threading.Thread(target=second)
    thread.start()
    with collection.held_off(True):
        first_in.set()
        second_in.wait()
    first_out.set()
    thread.join()
    assert seen == [False]
    assert gc.isenabled()


def test_a_stocktake_is_big_and_a_movement_is_not() -> None:
    count = CountStock(
        warehouse_id=uuid4(),
        items=tuple(CountedItem(part_id=uuid4(), counted_quantity=Decimal(1)) for _ in range(collection.BIG)),
    )
    create = CreateStock(part_id=uuid4(), to_warehouse_id=uuid4(), quantity=Decimal(1))
    assert collection.lines([count]) >= collection.BIG
    assert collection.lines([create] * 8) == 0
