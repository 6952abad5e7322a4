"""The handlers of the everyday movements: create stock, transfer it, consume it (optionally on a machine)."""

from __future__ import annotations

from uuid import UUID

from ledger import errors, rules
from ledger.commands import AdjustStock, ConsumeStock, CreateStock, TransferStock
from ledger.events import Movement, StockConsumed, StockCreated, StockTransferred
from ledger.needs import Found, Needs
from ledger.policy import Policy
from ledger.rules import Decision
from ledger.state import DecisionContext, PartInfo

Moving = CreateStock | TransferStock | ConsumeStock


def from_to(command: Moving) -> tuple[UUID | None, UUID | None]:
    """The warehouse the stock leaves and the one it enters (None: outside any warehouse)."""
    if isinstance(command, CreateStock):
        return None, command.to_warehouse_id
    if isinstance(command, TransferStock):
        return command.from_warehouse_id, command.to_warehouse_id
    return command.from_warehouse_id, None


def needs(command: Moving, found: Found) -> Needs:
    """The part, both warehouses and the machine; the levels of both warehouses are locked."""
    warehouses = frozenset(w for w in from_to(command) if w is not None)
    machine = command.machine_id if isinstance(command, ConsumeStock) else None
    return Needs(
        part_ids=frozenset({command.part_id}),
        warehouse_ids=warehouses,
        machine_ids=frozenset({machine} if machine else ()),
        lock=frozenset((w, command.part_id) for w in warehouses),
    )


def common_fields(
    command: Moving | AdjustStock, part: PartInfo, context: DecisionContext, policy: Policy
) -> dict[str, object]:
    """The fields every new movement takes from its command: a new id, part, unit, date, notes."""
    date = rules.transaction_date(command.transaction_date, context, policy)
    return {
        "transaction_id": rules.new_id(context),
        "part_id": part.id,
        "unit_of_measure": rules.unit(part, command.unit_of_measure),
        "transaction_date": date,
        "notes": command.notes,
        "reference_number": command.reference_number,
    }


def record(command: Moving, context: DecisionContext, policy: Policy) -> Decision:
    """Create, transfer or consume stock: one movement, held for approval over the thresholds."""
    return rules.settle([_movement(command, context, policy)], context, policy)


def _movement(command: Moving, context: DecisionContext, policy: Policy) -> Movement:
    part = rules.part(context, command.part_id)
    common = common_fields(command, part, context, policy)
    rules.check_quantity(command.quantity, part)
    source, destination = from_to(command)
    if source is not None and source == destination:
        raise errors.InvalidWarehouses("a transfer needs two different warehouses")
    if source is not None:
        rules.check_warehouse(context, source, receives=isinstance(command, ConsumeStock))
    if destination is not None:
        rules.check_warehouse(context, destination, receives=True)
    fields = {
        **common,
        "from_warehouse_id": source,
        "to_warehouse_id": destination,
        "quantity": command.quantity,
        **rules.approval(policy, command.quantity, part),
    }
    if isinstance(command, CreateStock):
        return StockCreated.model_validate(fields)
    if isinstance(command, TransferStock):
        return StockTransferred.model_validate(fields)
    owner = _machine_owner(command, context)
    return StockConsumed.model_validate(
        {**fields, "machine_id": command.machine_id, "customer_organization_id": owner}
    )


def _machine_owner(command: ConsumeStock, context: DecisionContext) -> UUID | None:
    if command.machine_id is None:
        return None
    machine = context.machines.get(command.machine_id)
    if machine is None:
        raise errors.UnknownMachine(
            f"machine {command.machine_id} does not exist", machine_id=str(command.machine_id)
        )
    if machine.owner_type != "customer":
        raise errors.InvalidMachineUse(
            "machines can only be owned by customer organizations", machine_id=str(machine.id)
        )
    if machine.status == "decommissioned":
        raise errors.InvalidMachineUse(f"machine {machine.id} is decommissioned", machine_id=str(machine.id))
    warehouse = context.warehouses[command.from_warehouse_id]
    if warehouse.organization_id != machine.customer_organization_id:
        raise errors.MachineWarehouseMismatch(
            "parts used on a machine must come out of a warehouse of the machine's owner",
            machine_id=str(machine.id),
            warehouse_id=str(warehouse.id),
        )
    return machine.customer_organization_id
