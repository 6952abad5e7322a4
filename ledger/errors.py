"""Every way a ledger command can fail, one type each, with a stable machine-readable code."""

from __future__ import annotations


class LedgerError(Exception):
    """A command was refused; nothing was written."""

    code = "ledger_error"
    # A refusal kept under an Idempotency-Key and given again: replayed, with the first request's id.
    replayed = False
    first_request_id: str | None = None

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidQuantity(LedgerError):
    """The quantity is not positive, has more than 3 decimals, or is out of range."""

    code = "invalid_quantity"


class FractionalQuantity(LedgerError):
    """A consumable part was moved in a fraction of a unit."""

    code = "fractional_quantity"


class UnitOfMeasureMismatch(LedgerError):
    """The unit given is not the part's unit of measure."""

    code = "unit_of_measure_mismatch"


class UnknownPart(LedgerError):
    """No part has that id."""

    code = "unknown_part"


class UnknownWarehouse(LedgerError):
    """No warehouse has that id."""

    code = "unknown_warehouse"


class WarehouseInactive(LedgerError):
    """The warehouse is deactivated and cannot take part in this movement."""

    code = "warehouse_inactive"


class InvalidWarehouses(LedgerError):
    """The from/to warehouses do not fit the movement type (spec: valid_transaction_warehouses)."""

    code = "invalid_warehouses"


class UnknownMachine(LedgerError):
    """No machine has that id."""

    code = "unknown_machine"


class InvalidMachineUse(LedgerError):
    """The machine cannot be used here (not a consumption, not customer-owned, decommissioned)."""

    code = "invalid_machine_use"


class MachineWarehouseMismatch(LedgerError):
    """Parts used on a machine must come out of a warehouse of the machine's owner."""

    code = "machine_warehouse_mismatch"


class UnknownUser(LedgerError):
    """The acting user does not exist or is not active."""

    code = "unknown_user"


class InsufficientStock(LedgerError):
    """The movement would take stock below zero and the policy is `reject`."""

    code = "insufficient_stock"


class StockReservedForOrders(LedgerError):
    """Under `reject`: on hand would cover it, but that stock is reserved for customer orders."""

    code = "stock_reserved"


class StockOutOfRange(LedgerError):
    """The resulting stock would not fit the spec's DECIMAL(10,3)."""

    code = "stock_out_of_range"


class InvalidDate(LedgerError):
    """The transaction date is not acceptable."""

    code = "invalid_date"


class DateOutOfRange(InvalidDate):
    """The date lies before the earliest date or beyond now plus the allowed clock skew."""

    code = "date_out_of_range"


class BackdatedTooFar(InvalidDate):
    """The date lies further before now than the backdating window allows."""

    code = "backdated_too_far"


class UnknownTransaction(LedgerError):
    """No movement has that transaction id."""

    code = "unknown_transaction"


class SelfApproval(LedgerError):
    """The user who recorded a held movement tried to approve it (segregation of duties)."""

    code = "self_approval"


class InvalidTransactionState(LedgerError):
    """The movement is not in a state that allows this (e.g. approving an approved one)."""

    code = "invalid_transaction_state"


class LimitReached(LedgerError):
    """A configured cap (e.g. transactions per year) would be exceeded."""

    code = "limit_reached"


class ConcurrencyConflict(LedgerError):
    """Another writer changed the stream first; the command may be retried."""

    code = "concurrency_conflict"


class IdempotencyConflict(LedgerError):
    """The idempotency key was already used for a different command."""

    code = "idempotency_conflict"


class EmptyCommand(LedgerError):
    """The command has nothing to do (e.g. a stocktake without items)."""

    code = "empty_command"


class DuplicateItem(LedgerError):
    """The same part is listed twice in one command."""

    code = "duplicate_item"


class UnknownOrder(LedgerError):
    """No order has that id."""

    code = "unknown_order"


class InvalidOrderState(LedgerError):
    """The order is not in a state that allows this (e.g. shipping a cancelled order)."""

    code = "invalid_order_state"


class QuantityExceedsOrder(LedgerError):
    """More would be shipped than ordered, or received than shipped."""

    code = "quantity_exceeds_order"


class PartNotOnOrder(LedgerError):
    """The part is not a line of the order."""

    code = "part_not_on_order"


class InvalidOrganization(LedgerError):
    """The organization does not exist or is of the wrong type for this order."""

    code = "invalid_organization"


class WrongWarehouseOwner(LedgerError):
    """The warehouse does not belong to the organization the order needs it to."""

    code = "wrong_warehouse_owner"
