"""The order events' stored payloads: the keys and values written to the log (and hashed) stay as they are.

The events share their common fields through base classes; what a base holds must never change what
an event stores, since the hash chain is over the stored payload.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from ledger.events import Event
from ledger.orders import events as e
from ledger.recorded import canonical_text

ORDER = UUID(int=1)
RECEIPT = UUID(int=2)
WAREHOUSE = UUID(int=3)
PART = UUID(int=4)
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LINE = e.MovedLine(part_id=PART, quantity=Decimal("2.500"), from_warehouse_id=WAREHOUSE)
STORED_LINE = {
    "from_warehouse_id": str(WAREHOUSE),
    "part_id": str(PART),
    "quantity": "2.500",
    "transaction_id": None,
}

# Every order event's stored keys. Changing one changes what new events store: add an upcaster instead.
STORED_KEYS = {
    "CustomerOrderRequested": {
        "order_id",
        "order_date",
        "expected_delivery_date",
        "notes",
        "lines",
        "customer_organization_id",
        "oraseas_organization_id",
    },
    "CustomerOrderConfirmed": {"order_id", "notes"},
    "CustomerOrderShipped": {"order_id", "shipment_id", "warehouse_id", "lines", "shipped_at", "warnings"},
    "CustomerOrderReceived": {
        "order_id",
        "receipt_id",
        "warehouse_id",
        "lines",
        "received_at",
        "completed",
        "warnings",
    },
    "CustomerOrderCancelled": {"order_id", "notes"},
    "StockReserved": {
        "order_id",
        "customer_organization_id",
        "warehouse_id",
        "lines",
        "reserved_at",
        "warnings",
    },
    "StockReservationReleased": {"order_id", "warehouse_id", "lines", "reason", "released_at"},
    "SupplierOrderRequested": {
        "order_id",
        "order_date",
        "expected_delivery_date",
        "notes",
        "lines",
        "ordering_organization_id",
        "supplier_organization_id",
        "supplier_name",
    },
    "SupplierOrderPlaced": {"order_id", "notes"},
    "SupplierOrderReceived": {"order_id", "receipt_id", "warehouse_id", "lines", "received_at", "completed"},
    "SupplierOrderCancelled": {"order_id", "notes"},
}


def stored(event: Event) -> str:
    """The payload text the event store writes and hashes for `event`."""
    return canonical_text(event.model_dump(mode="json"))


def test_each_order_event_stores_its_golden_keys() -> None:
    assert {cls.event_type: set(cls.model_fields) for cls in e.ORDER_EVENT_TYPES} == STORED_KEYS


def test_a_note_only_step_stores_the_order_and_the_note() -> None:
    for cls in (e.CustomerOrderConfirmed, e.CustomerOrderCancelled, e.SupplierOrderPlaced):
        assert stored(cls(order_id=ORDER, notes="ok")) == canonical_text(
            {"notes": "ok", "order_id": str(ORDER)}
        )
    assert stored(e.SupplierOrderCancelled(order_id=ORDER)) == canonical_text(
        {"notes": None, "order_id": str(ORDER)}
    )


def test_receipts_store_the_same_fields_for_either_kind_of_order() -> None:
    common = {"order_id": ORDER, "receipt_id": RECEIPT, "warehouse_id": WAREHOUSE, "received_at": AT}
    expected = {
        "completed": True,
        "lines": [STORED_LINE],
        "order_id": str(ORDER),
        "received_at": "2026-03-01T12:00:00Z",
        "receipt_id": str(RECEIPT),
        "warehouse_id": str(WAREHOUSE),
    }
    supplier = e.SupplierOrderReceived(lines=(LINE,), completed=True, **common)
    customer = e.CustomerOrderReceived(lines=(LINE,), completed=True, warnings=("late",), **common)
    assert stored(supplier) == canonical_text(expected)
    assert stored(customer) == canonical_text(expected | {"warnings": ["late"]})
    assert e.SupplierOrderReceived(lines=(LINE,), **common).completed is False


def test_a_reservation_stores_its_lines_as_part_and_quantity() -> None:
    reserved = e.StockReserved(
        order_id=ORDER,
        customer_organization_id=RECEIPT,
        warehouse_id=WAREHOUSE,
        lines=(e.ReservedLine(part_id=PART, quantity=Decimal("2.500")),),
        reserved_at=AT,
    )
    assert stored(reserved) == canonical_text(
        {
            "customer_organization_id": str(RECEIPT),
            "lines": [{"part_id": str(PART), "quantity": "2.500"}],
            "order_id": str(ORDER),
            "reserved_at": "2026-03-01T12:00:00Z",
            "warehouse_id": str(WAREHOUSE),
            "warnings": [],
        }
    )
