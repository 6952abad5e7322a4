"""The order handlers that open an order: a customer's request, Oraseas EE's draft to a supplier.

Each checks the ordering organization and every line (known part, valid
quantity, each part once) and starts a new order stream.
"""

from __future__ import annotations

from uuid import UUID

from ledger import errors, rules
from ledger.orders import commands as c
from ledger.orders import events as e
from ledger.policy import Policy
from ledger.rules import Decision
from ledger.state import DecisionContext

SUPPLIER_SOURCES = ("supplier", "bossaqua")


def request_customer(command: c.RequestCustomerOrder, context: DecisionContext, policy: Policy) -> Decision:
    """A customer orders parts from Oraseas EE: a new customer order stream."""
    requested = _request_customer(command, context)
    return rules.settle([requested], context, policy, requested.order_id)


def request_supplier(command: c.RequestSupplierOrder, context: DecisionContext, policy: Policy) -> Decision:
    """Oraseas EE drafts an order to a supplier: a new supplier order stream."""
    requested = _request_supplier(command, context)
    return rules.settle([requested], context, policy, requested.order_id)


def _lines(items: tuple[c.OrderItem, ...], context: DecisionContext) -> tuple[e.OrderLine, ...]:
    lines = []
    for item in rules.one_each(items, "listed"):
        part = rules.part(context, item.part_id)
        rules.check_quantity(item.quantity, part)
        lines.append(
            e.OrderLine(
                part_id=part.id,
                quantity=item.quantity,
                unit_price=item.unit_price,
                unit_of_measure=part.unit_of_measure,
            )
        )
    return tuple(lines)


def _organization(context: DecisionContext, organization_id: UUID, types: tuple[str, ...]) -> str:
    organization = context.organizations.get(organization_id)
    if organization is None or organization.organization_type not in types or not organization.is_active:
        raise errors.InvalidOrganization(
            f"organization {organization_id} is not an active {' or '.join(types)} organization",
            organization_id=str(organization_id),
        )
    return organization.name


def _request_customer(command: c.RequestCustomerOrder, context: DecisionContext) -> e.CustomerOrderRequested:
    _organization(context, command.customer_organization_id, ("customer",))
    if context.oraseas_id is None:
        raise errors.InvalidOrganization("there is no Oraseas EE organization to order from")
    return e.CustomerOrderRequested(
        order_id=rules.new_id(context),
        customer_organization_id=command.customer_organization_id,
        oraseas_organization_id=context.oraseas_id,
        order_date=context.now,
        expected_delivery_date=command.expected_delivery_date,
        notes=command.notes,
        lines=_lines(command.items, context),
    )


def _request_supplier(command: c.RequestSupplierOrder, context: DecisionContext) -> e.SupplierOrderRequested:
    _organization(context, command.ordering_organization_id, ("oraseas_ee",))
    name = command.supplier_name
    if command.supplier_organization_id is not None:
        name = _organization(context, command.supplier_organization_id, SUPPLIER_SOURCES)
    if not name:
        raise errors.InvalidOrganization("name the supplier: supplier_organization_id or supplier_name")
    return e.SupplierOrderRequested(
        order_id=rules.new_id(context),
        ordering_organization_id=command.ordering_organization_id,
        supplier_organization_id=command.supplier_organization_id,
        supplier_name=name,
        order_date=context.now,
        expected_delivery_date=command.expected_delivery_date,
        notes=command.notes,
        lines=_lines(command.items, context),
    )
