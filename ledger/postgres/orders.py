"""Execute order commands: load the order stream and what its rules read, decide, commit.

Called by PostgresLedger inside its transaction, so orders share the ledger's
retries, idempotency keys and append: an order's events and the stock
movements they cause are one append, one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from ledger.events import StockCreated
from ledger.fold import StockKey
from ledger.orders import commands as c
from ledger.orders import decide as order_rules
from ledger.orders.events import (
    CustomerOrderReceived,
    CustomerOrderRequested,
    SupplierOrderRequested,
    customer_order_stream,
    supplier_order_stream,
)
from ledger.orders.state import OrderState, order_state
from ledger.policy import Policy
from ledger.postgres import context as load
from ledger.postgres import idempotency
from ledger.postgres.commit import commit
from ledger.postgres.eventstore import Connection, load_streams
from ledger.recorded import CommandMetadata, RecordedEvent
from ledger.results import CommandResult
from ledger.state import DecisionContext

ORDER_COMMANDS = (
    c.RequestCustomerOrder,
    c.ConfirmCustomerOrder,
    c.CancelCustomerOrder,
    c.ShipCustomerOrder,
    c.ReceiveCustomerOrder,
    c.RequestSupplierOrder,
    c.PlaceSupplierOrder,
    c.ReceiveSupplierOrder,
    c.CancelSupplierOrder,
)
CUSTOMER_COMMANDS = (
    c.ConfirmCustomerOrder,
    c.CancelCustomerOrder,
    c.ShipCustomerOrder,
    c.ReceiveCustomerOrder,
)


def record_order(
    conn: Connection,
    command: c.OrderCommand,
    metadata: CommandMetadata,
    now: datetime,
    policy: Policy,
    new_id: Callable[[], UUID] | None,
    request_hash: bytes = b"",
) -> CommandResult:
    """Decide and append `command` in the caller's transaction (returning an idempotent replay's result)."""
    streams, order = _load_order(conn, command)
    needs = order_rules.needs(command)
    line_parts = set(order.lines) if order is not None else set()
    loaded = load.load_and_lock(
        conn,
        user_id=metadata.performed_by_user_id,
        year=now.year,
        part_ids=needs.part_ids | line_parts,
        warehouse_ids=needs.warehouse_ids,
        organization_ids=_organization_ids(command),
        lock=_stock_keys(command),
        idempotency_key=metadata.idempotency_key,
    )
    if metadata.idempotency_key:
        earlier = idempotency.recall(metadata.idempotency_key, request_hash, loaded.earlier)
        if earlier is not None:
            return earlier
    organizations = loaded.organizations
    context = DecisionContext(
        now=now,
        actor=loaded.actor,
        parts=loaded.parts,
        warehouses=loaded.warehouses,
        stock=loaded.levels,
        movements_this_year=loaded.movements_this_year,
        new_id=new_id,
        organizations=organizations,
        orders={order.order_id: order} if order is not None else {},
        oraseas_id=next((o.id for o in organizations.values() if o.organization_type == "oraseas_ee"), None),
    )
    decision = order_rules.decide(command, context, policy)
    events = [event for _, event in decision.events]
    order_id = next(
        (e.order_id for e in events if isinstance(e, CustomerOrderRequested | SupplierOrderRequested)),
        getattr(command, "order_id", None),
    )
    movements = [e.transaction_id for e in events if isinstance(e, StockCreated)]
    movements += [
        line.transaction_id
        for e in events
        if isinstance(e, CustomerOrderReceived)
        for line in e.lines
        if line.transaction_id is not None
    ]
    return commit(conn, decision, streams, metadata, now, tuple(movements), order_id, request_hash)


def _load_order(
    conn: Connection, command: c.OrderCommand
) -> tuple[dict[str, list[RecordedEvent]], OrderState | None]:
    order_id: UUID | None = getattr(command, "order_id", None)
    if order_id is None:
        return {}, None
    customer = isinstance(command, CUSTOMER_COMMANDS)
    stream = customer_order_stream(order_id) if customer else supplier_order_stream(order_id)
    streams = load_streams(conn, [stream])
    return streams, order_state((e.stream_version, e.event()) for e in streams[stream])


def _organization_ids(command: c.OrderCommand) -> list[UUID]:
    return [
        getattr(command, name)
        for name in ("customer_organization_id", "ordering_organization_id", "supplier_organization_id")
        if getattr(command, name, None) is not None
    ]


def _stock_keys(command: c.OrderCommand) -> set[StockKey]:
    if isinstance(command, c.ShipCustomerOrder | c.ReceiveCustomerOrder | c.ReceiveSupplierOrder):
        return {(command.warehouse_id, item.part_id) for item in command.items}
    return set()
