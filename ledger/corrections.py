"""The handlers of corrections: adjust stock by a signed amount, count it (a stocktake)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from ledger import errors, rules
from ledger.commands import AdjustStock, CountStock
from ledger.events import Event, StockAdjusted
from ledger.movements import common_fields
from ledger.needs import Found, Needs
from ledger.policy import Policy
from ledger.results import trusted
from ledger.rules import Decision
from ledger.state import DecisionContext

STOCKTAKE_REASON = "stocktake"


def adjust_needs(command: AdjustStock, found: Found) -> Needs:
    """The part and the warehouse; its level is locked."""
    return Needs(
        part_ids=frozenset({command.part_id}),
        warehouse_ids=frozenset({command.warehouse_id}),
        lock=frozenset({(command.warehouse_id, command.part_id)}),
    )


def count_needs(command: CountStock, found: Found) -> Needs:
    """Every counted part and the warehouse; their levels are locked (the difference needs them)."""
    return Needs(
        part_ids=frozenset(item.part_id for item in command.items),
        warehouse_ids=frozenset({command.warehouse_id}),
        lock=frozenset((command.warehouse_id, item.part_id) for item in command.items),
    )


def sides(warehouse_id: UUID, change: Decimal) -> dict[str, object]:
    """The spec keeps quantities positive: a decrease leaves `from`, an increase enters `to`."""
    side = "from_warehouse_id" if change < 0 else "to_warehouse_id"
    return {side: warehouse_id, "quantity": abs(change)}


def adjust(command: AdjustStock, context: DecisionContext, policy: Policy) -> Decision:
    """Correct stock by a signed amount: one adjustment, held for approval over the thresholds."""
    part = rules.part(context, command.part_id)
    common = common_fields(command, part, context, policy)
    change = command.quantity_adjusted
    if change == 0:
        raise errors.InvalidQuantity("quantity_adjusted must not be zero", field="quantity_adjusted")
    rules.check_quantity(abs(change), part)
    rules.check_warehouse(context, command.warehouse_id, receives=change > 0)
    adjusted = StockAdjusted.model_validate(
        {
            **common,
            **sides(command.warehouse_id, change),
            "reason_code": command.reason_code,
            **rules.approval(policy, abs(change), part),
        }
    )
    return rules.settle([adjusted], context, policy)


def count(command: CountStock, context: DecisionContext, policy: Policy) -> Decision:
    """A stocktake: an adjustment for each counted part whose level differs from the count."""
    if not command.items:
        raise errors.EmptyCommand("a stocktake needs at least one item", field="items")
    rules.check_warehouse(context, command.warehouse_id, receives=False)
    date = rules.transaction_date(command.transaction_date, context, policy)
    events: list[Event] = []
    for item in rules.one_each(command.items, "counted"):
        part = rules.part(context, item.part_id)
        rules.check_quantity(item.counted_quantity, part, allow_zero=True)
        difference = item.counted_quantity - context.stock.get((command.warehouse_id, part.id), Decimal(0))
        if difference == 0:
            continue
        if difference > 0:
            rules.check_warehouse(context, command.warehouse_id, receives=True)
        # Every field, each of its validated type (ids, the command's Decimals and validated date,
        # the part's unit): built as validation would build it, without validating each of a big
        # stocktake's events again (about a fifth of its CPU). test_corrections checks the two agree.
        events.append(
            trusted(
                StockAdjusted,
                {
                    "transaction_id": rules.new_id(context),
                    "part_id": part.id,
                    "from_warehouse_id": command.warehouse_id if difference < 0 else None,
                    "to_warehouse_id": command.warehouse_id if difference > 0 else None,
                    "machine_id": None,
                    "quantity": abs(difference),
                    "unit_of_measure": part.unit_of_measure,
                    "transaction_date": date,
                    "notes": command.notes,
                    "reference_number": command.reference_number,
                    "requires_approval": False,
                    "approval_status": "approved",
                    "reverses_transaction_id": None,
                    "warnings": (),
                    "reason_code": STOCKTAKE_REASON,
                    "counted_quantity": item.counted_quantity,
                },
            )
        )
    return rules.settle(events, context, policy)
