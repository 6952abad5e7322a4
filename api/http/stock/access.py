"""Who may move stock where: roles per kind of command, and the caller's organizations.

The ledger decides whether a movement is valid; this decides whether this
caller may ask for it. Warehouses, machines or movements outside the caller's
reach answer 404 (they are not there for this caller); a kind of command the
caller's role may not issue answers 403.
"""

from __future__ import annotations

from uuid import UUID

from api.http.auth.principal import Principal
from api.http.problems import ApiError, forbidden
from ledger.commands import (
    AdjustStock,
    ApproveMovement,
    ConsumeStock,
    CorrectMovementDate,
    CountStock,
    CreateStock,
    RejectMovement,
    ReverseMovement,
    StockCommand,
    TransferStock,
)
from ledger.postgres import queries
from ledger.postgres.connection import Connection

# Users record transfers and consumption (part usage); everything else is an admin's.
USER_COMMANDS = (TransferStock, ConsumeStock)

WAREHOUSE_ORGS = "SELECT id, organization_id FROM warehouses WHERE id = ANY(%s)"
MACHINE_ORG = "SELECT customer_organization_id FROM machines WHERE id = %s"


DECISIONS = (ApproveMovement, RejectMovement, ReverseMovement, CorrectMovementDate)


def check(conn: Connection, caller: Principal, command: StockCommand) -> None:
    """Raise a 404 or 403 ApiError unless `caller` may issue `command`."""
    warehouses = _warehouses_of(conn, command)
    if caller.scope is not None:
        _check_reach(conn, caller, command, warehouses)
    _check_role(caller, command)


def checked_at_once(caller: Principal, command: StockCommand) -> bool:
    """Whether `check` needs no SQL for this caller and command, and then run it (raising its 403).

    A caller who sees every organization, with a command that names its warehouses, needs no
    reading: the route then checks on the event loop, without the worker-thread hop of `check`.
    """
    if caller.scope is not None or isinstance(command, DECISIONS):
        return False
    _check_role(caller, command)
    return True


def _check_role(caller: Principal, command: StockCommand) -> None:
    if not caller.is_admin and not isinstance(command, USER_COMMANDS):
        raise forbidden(f"a user may record transfers and consumption, not {_kind(command)}")


def _warehouses_of(conn: Connection, command: StockCommand) -> set[UUID]:
    if isinstance(command, DECISIONS):
        touched = queries.movement_warehouses(conn, command.transaction_id)
        if touched is None:
            raise _unknown_transaction(command.transaction_id)
        return touched
    if isinstance(command, CountStock | AdjustStock):
        return {command.warehouse_id}
    if isinstance(command, CreateStock):
        return {command.to_warehouse_id}
    if isinstance(command, TransferStock):
        return {command.from_warehouse_id, command.to_warehouse_id}
    return {command.from_warehouse_id}


def _check_reach(conn: Connection, caller: Principal, command: StockCommand, warehouses: set[UUID]) -> None:
    owners: dict[UUID, UUID] = {
        r[0]: r[1] for r in conn.execute(WAREHOUSE_ORGS, [list(warehouses)]).fetchall()
    }
    for warehouse in warehouses:
        # An unknown warehouse is left to the ledger; one out of reach gets the very same answer.
        if warehouse in owners and not caller.sees(owners[warehouse]):
            if isinstance(command, DECISIONS):
                raise _unknown_transaction(command.transaction_id)
            raise ApiError(
                422, "unknown_warehouse", f"warehouse {warehouse} does not exist", warehouse_id=str(warehouse)
            )
    if isinstance(command, ConsumeStock) and command.machine_id is not None:
        row = conn.execute(MACHINE_ORG, [command.machine_id]).fetchone()
        if row is not None and not caller.sees(row[0]):
            machine = command.machine_id
            raise ApiError(
                422, "unknown_machine", f"machine {machine} does not exist", machine_id=str(machine)
            )


def _unknown_transaction(transaction_id: UUID) -> ApiError:
    return ApiError(
        404,
        "unknown_transaction",
        f"transaction {transaction_id} does not exist",
        transaction_id=str(transaction_id),
    )


def _kind(command: StockCommand) -> str:
    return {
        CreateStock: "creations",
        AdjustStock: "adjustments",
        CountStock: "stocktakes",
        ApproveMovement: "approvals",
        RejectMovement: "rejections",
        ReverseMovement: "reversals",
    }.get(type(command), "this")
