"""Who may act on which order.

Customer orders are visible to the customer's members and to Oraseas EE;
supplier orders to Oraseas EE only. Customers order for themselves (a
super_admin may order for any customer); Oraseas EE admins confirm, Oraseas EE
members ship; the customer's members receive; a customer admin or an Oraseas
EE admin cancels. An order a caller may not see answers 404.
"""

from __future__ import annotations

from uuid import UUID

from api.http.auth.principal import Principal
from api.http.problems import ApiError, forbidden
from api.runtime import reorder
from ledger.orders.events import customer_order_stream, supplier_order_stream
from ledger.postgres import queries
from ledger.postgres.connection import Connection


def is_oraseas(caller: Principal) -> bool:
    """Whether the caller belongs to Oraseas EE (super_admins always do)."""
    return caller.is_super_admin or caller.organization_type == "oraseas_ee"


def customer_for_new_order(caller: Principal, requested: UUID | None) -> UUID:
    """The customer a new order is for: the caller's own organization, or any for a super_admin."""
    if caller.is_super_admin:
        if requested is None:
            raise ApiError(
                422, "invalid_request", "name the customer_organization_id", field="customer_organization_id"
            )
        return requested
    if caller.organization_type != "customer":
        raise forbidden("only customers order parts from Oraseas EE")
    if requested is not None and requested != caller.organization_id:
        raise forbidden("a customer orders for its own organization only")
    return caller.organization_id


def customer_order(conn: Connection, caller: Principal, order_id: UUID, action: str) -> UUID:
    """The order's customer, once the caller may see the order and do `action` on it."""
    opening = queries.stream_opening(conn, customer_order_stream(order_id))
    customer = UUID(opening["customer_organization_id"]) if opening else None
    own = customer is not None and customer == caller.organization_id
    if customer is None or not (own or is_oraseas(caller)):
        raise ApiError(404, "unknown_order", f"order {order_id} does not exist", order_id=str(order_id))
    allowed = {
        "read": True,
        "confirm": is_oraseas(caller) and caller.is_admin,
        "ship": is_oraseas(caller),
        "receive": own or caller.is_super_admin,
        "cancel": caller.is_admin,
    }[action]
    if not allowed:
        raise forbidden(f"this role or organization may not {action} this order")
    return customer


def supplier_order(conn: Connection, caller: Principal, order_id: UUID | None, action: str) -> None:
    """Raise unless the caller may do `action` on Oraseas EE's supplier order `order_id`."""
    if not is_oraseas(caller):
        if order_id is None:
            raise forbidden("only Oraseas EE orders from suppliers")
        raise ApiError(404, "unknown_order", f"order {order_id} does not exist", order_id=str(order_id))
    if order_id is not None and queries.stream_opening(conn, supplier_order_stream(order_id)) is None:
        raise ApiError(404, "unknown_order", f"order {order_id} does not exist", order_id=str(order_id))
    if action in ("request", "place", "cancel") and not caller.is_admin:
        raise forbidden(f"only an admin may {action} a supplier order")


WAREHOUSE_OWNER = "SELECT organization_id FROM warehouses WHERE id = %s"


def warehouse_in_reach(conn: Connection, caller: Principal, warehouse_id: UUID) -> None:
    """Refuse a warehouse the caller does not see, exactly as one that does not exist (422)."""
    row = conn.execute(WAREHOUSE_OWNER, [warehouse_id]).fetchone()
    if row is None or not caller.sees(row[0]):
        raise ApiError(
            422,
            "unknown_warehouse",
            f"warehouse {warehouse_id} does not exist",
            warehouse_id=str(warehouse_id),
        )


def reorder_warehouse(conn: Connection, caller: Principal, warehouse_id: UUID) -> UUID:
    """The Oraseas EE organization owning `warehouse_id`, which the caller may draft reorders for.

    Supplier orders are Oraseas EE's and are received into its warehouses: another organization's
    warehouse is a 422 wrong_warehouse_owner, one the caller does not see does not exist.
    """
    supplier_order(conn, caller, None, "request")
    owner = reorder.warehouse_owner(conn, warehouse_id)
    if owner is None or not caller.sees(owner[0]):
        raise ApiError(
            422,
            "unknown_warehouse",
            f"warehouse {warehouse_id} does not exist",
            warehouse_id=str(warehouse_id),
        )
    if not owner[1]:
        raise ApiError(
            422,
            "wrong_warehouse_owner",
            "supplier orders are received into Oraseas EE warehouses: draft reorders for one of those",
            warehouse_id=str(warehouse_id),
        )
    return owner[0]
