"""The rules every command shares, public for the stock and the order handlers alike.

Part lookup, quantity and unit checks, warehouse checks, dates, new ids, and the
last step of every decision: applying its events to the locked stock levels
(refusing or warning about negative stock, and about stock reserved for
customer orders) and checking the yearly cap. Pure.

Reserved stock, under `reject`: a reservation may not exceed what is available
(on hand - reserved), and no decrease of stock on hand (consumption, transfer
out, negative adjustment, shipment, an approval or reversal that takes stock)
may go below what is reserved. The refusal is `insufficient_stock` when on hand
alone is short, `stock_reserved` when on hand would do but the rest is promised.
Under `warn` both are recorded, with a `stock_reserved` warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Protocol, TypeVar
from uuid import UUID

from ledger import errors
from ledger.events import Event, Movement, movement_stream
from ledger.fold import StockKey, reservation_changes, stock_changes
from ledger.policy import NegativeStockPolicy, Policy
from ledger.results import StockWarning
from ledger.state import DecisionContext, PartInfo
from ledger.types import MAX_STOCK, decimal_places, is_whole, random_uuid


@dataclass(frozen=True)
class Decision:
    """What a command records: events by stream, warnings, and what the answer names.

    `transaction_ids` are the movements created or acted on, in order; `order_id`
    the order a command created or acted on.
    """

    events: tuple[tuple[str, Event], ...] = ()
    warnings: tuple[StockWarning, ...] = ()
    transaction_ids: tuple[UUID, ...] = ()
    order_id: UUID | None = None

    @cached_property
    def new_movements(self) -> int:
        """How many transactions (movement rows) this decision adds (counted once: the cap, the
        batch's count and the write each ask)."""
        return sum(isinstance(event, Movement) for _, event in self.events)


def require_actor(context: DecisionContext) -> None:
    """Refuse a command whose acting user is unknown or inactive."""
    if context.actor is None or not context.actor.is_active:
        raise errors.UnknownUser("the acting user does not exist or is not active")


def new_id(context: DecisionContext) -> UUID:
    """A fresh id: from the context's generator when it has one (tests), else random."""
    return context.new_id() if context.new_id is not None else random_uuid()


def part(context: DecisionContext, part_id: UUID) -> PartInfo:
    """The part, or UnknownPart."""
    found = context.parts.get(part_id)
    if found is None:
        raise errors.UnknownPart(f"part {part_id} does not exist", part_id=str(part_id))
    return found


def check_quantity(quantity: Decimal, part: PartInfo, *, allow_zero: bool = False) -> None:
    """A quantity is positive (or zero when allowed), has at most 3 decimals, whole for consumables."""
    if not quantity.is_finite() or (quantity <= 0 and not (allow_zero and quantity == 0)):
        raise errors.InvalidQuantity(
            "quantity must be greater than zero", quantity=str(quantity), field="quantity"
        )
    if decimal_places(quantity) > 3:
        raise errors.InvalidQuantity(
            "quantity has more than 3 decimals", quantity=str(quantity), field="quantity"
        )
    if quantity > MAX_STOCK:
        raise errors.InvalidQuantity(
            f"quantity exceeds {MAX_STOCK}", quantity=str(quantity), field="quantity"
        )
    if part.part_type == "consumable" and not is_whole(quantity):
        raise errors.FractionalQuantity(
            f"part {part.id} is a consumable and is counted in whole units",
            part_id=str(part.id),
            quantity=str(quantity),
        )


def unit(part: PartInfo, given: str | None) -> str:
    """The part's unit of measure; a given unit must match it (case aside)."""
    if given is not None and given.casefold() != part.unit_of_measure.casefold():
        raise errors.UnitOfMeasureMismatch(
            f"part {part.id} is measured in {part.unit_of_measure!r}, not {given!r}",
            part_id=str(part.id),
            expected=part.unit_of_measure,
            given=given,
        )
    return part.unit_of_measure


def check_warehouse(context: DecisionContext, warehouse_id: UUID, *, receives: bool) -> None:
    """The warehouse exists; one that `receives` stock must be active."""
    warehouse = context.warehouses.get(warehouse_id)
    if warehouse is None:
        raise errors.UnknownWarehouse(
            f"warehouse {warehouse_id} does not exist", warehouse_id=str(warehouse_id)
        )
    if receives and not warehouse.is_active:
        raise errors.WarehouseInactive(
            f"warehouse {warehouse_id} is inactive and receives no stock",
            warehouse_id=str(warehouse_id),
        )


def transaction_date(
    given: datetime | None, context: DecisionContext, policy: Policy, *, backdating: bool = True
) -> datetime:
    """The date a movement happened: now unless given; a given one lies in the policy's range.

    Checked here rather than at the edge so that every entry point (HTTP, CLI, library) is bound
    by it; the upper end moves with the clock, the lower end keeps dates every reader can show.
    With `backdating`, a date may also lie at most the policy's backdate window before now
    (422 backdated_too_far); a repair of a date (`backdating=False`) is bound by the range only.
    """
    if given is None:
        return context.now
    latest = context.now + policy.max_future_skew
    try:
        in_range = policy.earliest_date <= given <= latest
    except OverflowError:  # an offset that takes it out of Python's years 1 to 9999
        in_range = False
    if not in_range:
        raise errors.DateOutOfRange(
            f"transaction_date must lie from {policy.earliest_date.isoformat()} to now "
            f"plus {policy.max_future_skew} ({latest.isoformat()})",
            field="transaction_date",
            earliest=policy.earliest_date.isoformat(),
            latest=latest.isoformat(),
        )
    window_start = context.now - policy.backdate_window
    if backdating and given < window_start:
        raise errors.BackdatedTooFar(
            f"transaction_date may lie at most {policy.backdate_window} before now"
            f" ({window_start.isoformat()})",
            field="transaction_date",
            earliest=window_start.isoformat(),
            latest=latest.isoformat(),
        )
    return given


class NamesPart(Protocol):
    """An item of a list of parts: a stocktake line, an order line, a shipment line."""

    @property
    def part_id(self) -> UUID: ...


Item = TypeVar("Item", bound=NamesPart)


def one_each(items: Iterable[Item], listed: str) -> Iterator[Item]:
    """The items in order; a part named twice is refused when reached (`listed`: "counted", "listed")."""
    seen: set[UUID] = set()
    for item in items:
        if item.part_id in seen:
            raise errors.DuplicateItem(f"part {item.part_id} is {listed} twice", part_id=str(item.part_id))
        seen.add(item.part_id)
        yield item


def settle(
    events: Iterable[Event], context: DecisionContext, policy: Policy, order_id: UUID | None = None
) -> Decision:
    """Apply the events to the locked levels in order: refuse or warn about negative stock; check the cap.

    The decision names each event's movement (`transaction_id`) once, in order, and `order_id`.
    """
    levels = dict(context.stock)
    reserved = dict(context.reserved)
    recorded: list[tuple[str, Event]] = []
    all_warnings: list[StockWarning] = []
    for event in events:
        warnings = _reserve(event, levels, reserved, policy) + _apply(event, levels, reserved, policy)
        if warnings:
            # The event keeps the text (its payload is a hashed contract); the answer gets the fields.
            event = event.model_copy(update={"warnings": tuple(w.detail for w in warnings)})
            all_warnings.extend(warnings)
        recorded.append((_stream_of(event), event))
    moved = (getattr(event, "transaction_id", None) for _, event in recorded)
    decision = Decision(
        tuple(recorded),
        tuple(all_warnings),
        tuple(dict.fromkeys(t for t in moved if isinstance(t, UUID))),
        order_id,
    )
    cap = policy.limits.transactions_per_year
    if context.movements_this_year + decision.new_movements > cap:
        raise errors.LimitReached(
            f"the cap of {cap} transactions per year is reached", limit="transactions_per_year"
        )
    return decision


def _apply(
    event: Event, levels: dict[StockKey, Decimal], reserved: dict[StockKey, Decimal], policy: Policy
) -> list[StockWarning]:
    """Move `levels` by the event's stock changes; return its negative-stock and reserved-stock warnings."""
    warnings: list[StockWarning] = []
    for key, delta in stock_changes(event):
        before = levels.get(key, Decimal(0))
        after = before + delta
        held = reserved.get(key, Decimal(0))
        _check_range(after, key)
        if delta < 0 and after < 0:
            if policy.negative_stock is NegativeStockPolicy.REJECT:
                raise errors.InsufficientStock(
                    f"warehouse {key[0]} holds {before} of part {key[1]}; {-delta} requested",
                    warehouse_id=str(key[0]),
                    part_id=str(key[1]),
                    available=str(before),
                    requested=str(-delta),
                )
            warnings.append(StockWarning.negative_stock(key[0], key[1], after))
        elif delta < 0 and after < held:
            if policy.negative_stock is NegativeStockPolicy.REJECT:
                raise _reserved(key, before, held, -delta)
            warnings.append(StockWarning.stock_reserved(key[0], key[1], after, after - held))
        levels[key] = after
    return warnings


def _reserve(
    event: Event, levels: dict[StockKey, Decimal], reserved: dict[StockKey, Decimal], policy: Policy
) -> list[StockWarning]:
    """Move `reserved` by the event's reservations and releases; a reservation needs available stock."""
    warnings: list[StockWarning] = []
    for key, delta in reservation_changes(event):
        on_hand = levels.get(key, Decimal(0))
        before = reserved.get(key, Decimal(0))
        after = before + delta
        _check_range(after, key)
        if delta > 0 and after > on_hand:
            if policy.negative_stock is NegativeStockPolicy.REJECT:
                if delta > on_hand:
                    raise errors.InsufficientStock(
                        f"warehouse {key[0]} holds {on_hand} of part {key[1]}; {delta} to reserve",
                        warehouse_id=str(key[0]),
                        part_id=str(key[1]),
                        available=str(on_hand),
                        requested=str(delta),
                    )
                raise _reserved(key, on_hand, before, delta)
            warnings.append(StockWarning.stock_reserved(key[0], key[1], on_hand, on_hand - after))
        reserved[key] = after
    return warnings


def _check_range(quantity: Decimal, key: StockKey) -> None:
    if abs(quantity) > MAX_STOCK:
        raise errors.StockOutOfRange(
            f"stock would reach {quantity}, beyond {MAX_STOCK}",
            warehouse_id=str(key[0]),
            part_id=str(key[1]),
        )


def _reserved(key: StockKey, on_hand: Decimal, held: Decimal, requested: Decimal) -> errors.LedgerError:
    return errors.StockReservedForOrders(
        f"warehouse {key[0]} holds {on_hand} of part {key[1]}, {held} of it reserved for customer orders; "
        f"{requested} requested, {on_hand - held} available",
        warehouse_id=str(key[0]),
        part_id=str(key[1]),
        on_hand=str(on_hand),
        reserved=str(held),
        available=str(on_hand - held),
        requested=str(requested),
    )


def _stream_of(event: Event) -> str:
    stream_id = getattr(event, "stream_id", None)
    if isinstance(stream_id, str):
        return stream_id
    transaction_id = getattr(event, "transaction_id", None)
    assert isinstance(transaction_id, UUID)
    return movement_stream(transaction_id)


def approval(policy: Policy, quantity: Decimal, part: PartInfo) -> dict[str, object]:
    """A new movement's approval fields: held as pending over the policy's thresholds."""
    pending = policy.requires_approval(quantity, part.unit_price)
    return {"requires_approval": pending, "approval_status": "pending" if pending else "approved"}
