"""The stored event contract: literal stored names, schema versions and upcasting on read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import uuid4

import pytest

from ledger import events
from ledger.commands import CreateStock
from ledger.events import (
    EVENT_TYPES,
    Event,
    StockCreated,
    UnreadableEvent,
    event_from_stored,
    movement_stream,
    register,
)
from ledger.postgres.eventstore import chain, load_streams
from ledger.recorded import CommandMetadata
from tests.fixtures.ledger import Conn, Site, run

D = Decimal

# The names in the log. Changing one strands every event already stored under it: never edit
# this list to make a test pass; add an upcaster or a new event instead.
STORED_NAMES = [
    "CustomerOrderCancelled",
    "CustomerOrderConfirmed",
    "CustomerOrderReceived",
    "CustomerOrderRequested",
    "CustomerOrderShipped",
    "MovementApproved",
    "MovementDateCorrected",
    "MovementRejected",
    "MovementReversed",
    "StockAdjusted",
    "StockConsumed",
    "StockCreated",
    "StockReservationReleased",
    "StockReserved",
    "StockTransferred",
    "SupplierOrderCancelled",
    "SupplierOrderPlaced",
    "SupplierOrderReceived",
    "SupplierOrderRequested",
]


def test_the_stored_names_are_the_golden_list() -> None:
    assert sorted(EVENT_TYPES) == STORED_NAMES
    assert all(cls.event_type == name for name, cls in EVENT_TYPES.items())


def created(cls: type[StockCreated] = StockCreated) -> StockCreated:
    return cls(
        transaction_id=uuid4(),
        part_id=uuid4(),
        to_warehouse_id=uuid4(),
        quantity=D("2.5"),
        unit_of_measure="pieces",
        transaction_date=datetime.now(UTC),
    )


def test_renaming_an_event_class_does_not_change_what_is_stored() -> None:
    class RenamedStockCreated(StockCreated):
        """StockCreated under another Python name."""

    event = created(RenamedStockCreated)
    [new] = chain(
        [(event.stream_id, event)], {}, CommandMetadata(performed_by_user_id=uuid4()), datetime.now(UTC)
    )
    assert (event.event_type, new.event_type) == ("StockCreated", "StockCreated")


def test_an_event_must_declare_its_own_stored_name_once() -> None:
    class Nameless(StockCreated):
        """Inherits a stored name it does not declare."""

    class Duplicate(Event):
        """Claims a name already taken."""

        event_type: ClassVar[str] = "StockCreated"

    with pytest.raises(TypeError, match="declares no event_type"):
        register((Nameless,))
    with pytest.raises(TypeError, match="already the stored name"):
        register((Duplicate,))
    assert EVENT_TYPES["StockCreated"] is StockCreated


class PartCounted(Event):
    """A test-only event at schema version 3: v1 stored `count`, v2 renamed it, v3 added `unit`."""

    event_type: ClassVar[str] = "PartCounted"
    schema_version: ClassVar[int] = 3
    counted: Decimal
    unit: str


def _v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in payload.items() if k != "count"}
    return {**rest, "counted": payload["count"]}


def _v2_to_v3(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "unit": "pieces"}


REGISTRY: dict[str, type[Event]] = {"PartCounted": PartCounted}
STEPS = {("PartCounted", 1): _v1_to_v2, ("PartCounted", 2): _v2_to_v3}


def test_an_old_payload_is_upcast_step_by_step_to_the_current_event() -> None:
    for version, payload in (
        (1, {"count": "7"}),
        (2, {"counted": "7"}),
        (3, {"counted": "7", "unit": "pieces"}),
    ):
        event = event_from_stored("PartCounted", payload, version, registry=REGISTRY, upcasters=STEPS)
        assert event == PartCounted(counted=D(7), unit="pieces")


def test_a_payload_with_no_way_up_or_from_the_future_is_unreadable() -> None:
    with pytest.raises(UnreadableEvent, match="no upcaster for PartCounted from v2"):
        event_from_stored(
            "PartCounted", {"count": "7"}, 1, registry=REGISTRY, upcasters={("PartCounted", 1): _v1_to_v2}
        )
    with pytest.raises(UnreadableEvent, match="newer"):
        event_from_stored("PartCounted", {"counted": "7"}, 4, registry=REGISTRY, upcasters=STEPS)
    with pytest.raises(UnreadableEvent, match="unknown event type"):
        event_from_stored("PartMislaid", {}, 1, registry=REGISTRY, upcasters=STEPS)


class StockCreatedV2(StockCreated):
    """StockCreated as a later version might have it: a required `source` that v1 payloads lack."""

    schema_version: ClassVar[int] = 2
    source: str


@pytest.mark.db
def test_a_stored_v1_event_reads_as_the_current_version_and_still_verifies(
    conn: Conn, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(4)), site)
    [transaction_id] = result.transaction_ids
    stream = movement_stream(transaction_id)
    monkeypatch.setitem(events.EVENT_TYPES, "StockCreated", StockCreatedV2)
    monkeypatch.setitem(events.UPCASTERS, ("StockCreated", 1), lambda p: {**p, "source": "before v2"})

    [recorded] = load_streams(conn, [stream])[stream]
    event = recorded.event()

    assert recorded.schema_version == 1 and "source" not in recorded.payload
    assert isinstance(event, StockCreatedV2)
    assert (event.source, event.quantity, event.to_warehouse_id) == ("before v2", D(4), site.a)
    assert recorded.computed_hash() == recorded.hash  # the hash is over the payload as stored
