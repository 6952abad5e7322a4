"""Every projection, in an order where each comes after the projections it depends on."""

from __future__ import annotations

from collections.abc import Iterable

from projections.engine.projection import Projection
from projections.feed import FEED
from projections.read_models import (
    customer_orders,
    inventory,
    part_usage,
    stock_adjustments,
    stock_reservations,
    supplier_orders,
    transaction_approvals,
    transactions,
)

ALL: tuple[Projection, ...] = (
    inventory.PROJECTION,
    transactions.PROJECTION,
    part_usage.PROJECTION,
    stock_adjustments.PROJECTION,
    transaction_approvals.PROJECTION,
    customer_orders.PROJECTION,
    supplier_orders.PROJECTION,
    stock_reservations.PROJECTION,
)
BY_NAME = {p.name: p for p in ALL}


def watched(*, feed: bool) -> tuple[Projection, ...]:
    """What status, /ready and /metrics report: every projection, and the change feed when it runs."""
    return (*ALL, FEED) if feed else ALL


class UnknownProjection(ValueError):
    """A projection name that does not exist."""


def select(names: Iterable[str] = ()) -> tuple[Projection, ...]:
    """The named projections (all when none are named) with everything tied to them by a dependency.

    Projections that depend on each other are rebuilt together, so that the rows
    of one always find the rows they refer to in the other.
    """
    wanted = set(names) or set(BY_NAME)
    unknown = wanted - set(BY_NAME)
    if unknown:
        raise UnknownProjection(
            f"unknown projection(s): {', '.join(sorted(unknown))}; known: {', '.join(BY_NAME)}"
        )
    grew = True
    while grew:
        tied = {d for p in ALL if p.name in wanted for d in p.depends_on}
        tied |= {p.name for p in ALL if set(p.depends_on) & wanted}
        grew = not tied <= wanted
        wanted |= tied
    return tuple(p for p in ALL if p.name in wanted)
