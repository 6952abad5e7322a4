"""Stock commands over HTTP: build the ledger command from a request body, and describe what it recorded.

The ledger decides and records; this module only translates.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from api.http.problems import ApiError
from api.http.stock.schemas import (
    PartUsageIn,
    Recorded,
    StockAdjustmentIn,
    StocktakeIn,
    TransactionIn,
    TransactionOut,
)
from ledger.commands import (
    AdjustStock,
    ConsumeStock,
    CountedItem,
    CountStock,
    CreateStock,
    StockCommand,
    TransferStock,
)
from ledger.postgres import queries
from ledger.postgres.connection import Connection
from ledger.results import CommandResult, ResultingMovement


def recorded(conn: Connection, result: CommandResult) -> Recorded:
    """The answer to a stock command: the movements it recorded or acted on, where, and any warnings.

    Read from the log: for a result that does not carry its movements (see `answered`).
    """
    return Recorded(
        transactions=describe(conn, result.transaction_ids),
        position=result.position,
        warnings=list(result.warnings),
    )


def answered(result: CommandResult) -> Recorded | None:
    """The same answer as `recorded`, from the movements the result carries: no read.

    None when it carries none (a result stored under an Idempotency-Key before they were kept).
    """
    if result.movements is None:
        return None
    return Recorded(
        transactions=[_out(tid, m) for tid, m in zip(result.transaction_ids, result.movements, strict=True)],
        position=result.position,
        warnings=list(result.warnings),
    )


def _out(tid: UUID, m: ResultingMovement) -> TransactionOut:
    return TransactionOut(
        id=tid,
        transaction_type=m.transaction_type,
        part_id=m.part_id,
        from_warehouse_id=m.from_warehouse_id,
        to_warehouse_id=m.to_warehouse_id,
        machine_id=m.machine_id,
        quantity=m.quantity,
        unit_of_measure=m.unit_of_measure,
        performed_by_user_id=m.recorded_by,
        transaction_date=m.transaction_date,
        notes=m.notes,
        reference_number=m.reference_number,
        requires_approval=m.requires_approval,
        approval_status=m.approval_status,
        created_at=m.recorded_at,
    )


def describe(conn: Connection, transaction_ids: tuple[UUID, ...]) -> list[TransactionOut]:
    """The movements as their streams tell them now, in the order given."""
    found = queries.movements(conn, transaction_ids)
    out = []
    for tid in transaction_ids:
        state, first = found[tid].state, found[tid].recorded
        m = state.movement
        out.append(
            TransactionOut(
                id=tid,
                transaction_type=m.transaction_type,
                part_id=m.part_id,
                from_warehouse_id=m.from_warehouse_id,
                to_warehouse_id=m.to_warehouse_id,
                machine_id=m.machine_id,
                quantity=m.quantity,
                unit_of_measure=m.unit_of_measure,
                performed_by_user_id=first.metadata.performed_by_user_id,
                transaction_date=m.transaction_date,
                notes=m.notes,
                reference_number=m.reference_number,
                requires_approval=m.requires_approval,
                approval_status=state.status,
                created_at=first.recorded_at,
            )
        )
    return out


def transaction_command(body: TransactionIn) -> StockCommand:
    """The ledger command for a POST /transactions body; a 422 when its warehouses do not fit its type."""
    common = {
        "part_id": body.part_id,
        "unit_of_measure": body.unit_of_measure,
        "transaction_date": body.transaction_date,
        "notes": body.notes,
        "reference_number": body.reference_number,
    }
    kind, source, target = body.transaction_type, body.from_warehouse_id, body.to_warehouse_id
    if body.machine_id is not None and kind != "consumption":
        raise _invalid("only a consumption can name a machine_id")
    if kind != "adjustment" and body.reason_code is not None:
        raise _invalid("reason_code belongs to adjustments", "reason_code")
    if kind == "creation" and target is not None and source is None:
        return CreateStock(to_warehouse_id=target, quantity=body.quantity, **common)
    if kind == "transfer" and source is not None and target is not None:
        return TransferStock(
            from_warehouse_id=source, to_warehouse_id=target, quantity=body.quantity, **common
        )
    if kind == "consumption" and source is not None and target is None:
        return ConsumeStock(
            from_warehouse_id=source, machine_id=body.machine_id, quantity=body.quantity, **common
        )
    if kind == "adjustment" and (source is None) != (target is None):
        if body.reason_code is None:
            raise _invalid("an adjustment needs a reason_code", "reason_code")
        if body.quantity <= 0:
            raise ApiError(422, "invalid_quantity", "quantity must be greater than zero", field="quantity")
        signed = -body.quantity if source is not None else body.quantity
        warehouse = source or target
        assert warehouse is not None
        return AdjustStock(
            warehouse_id=warehouse, quantity_adjusted=signed, reason_code=body.reason_code, **common
        )
    raise _invalid(
        "creation needs to_warehouse_id only; transfer both; consumption from_warehouse_id only;"
        " adjustment exactly one of them"
    )


def adjustment_command(body: StockAdjustmentIn) -> AdjustStock:
    """The ledger command for POST /stock-adjustments."""
    return AdjustStock(**body.model_dump())


def stocktake_command(body: StocktakeIn) -> CountStock:
    """The ledger command for POST /stocktakes."""
    items = tuple(CountedItem(part_id=i.part_id, counted_quantity=i.counted_quantity) for i in body.items)
    return CountStock(
        warehouse_id=body.warehouse_id,
        items=items,
        notes=body.notes,
        transaction_date=body.transaction_date,
        reference_number=body.reference_number,
    )


def part_usage_command(body: PartUsageIn) -> ConsumeStock:
    """The ledger command for POST /part-usage: a consumption on the machine."""
    return ConsumeStock(
        part_id=body.part_id,
        from_warehouse_id=body.warehouse_id,
        machine_id=body.machine_id,
        quantity=Decimal(body.quantity),
        transaction_date=body.usage_date,
        notes=body.notes,
    )


def _invalid(detail: str, field: str = "transaction_type") -> ApiError:
    return ApiError(
        422, "invalid_warehouses" if field == "transaction_type" else "invalid_request", detail, field=field
    )
