"""Configurable business policy: negative-stock handling, approval thresholds and duties, and caps."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from ledger.types import EARLIEST_MOMENT


class NegativeStockPolicy(StrEnum):
    """What happens when a movement would take stock below zero."""

    WARN = "warn"
    REJECT = "reject"


class Limits(BaseModel):
    """The spec's scale caps; the spec's figures are the defaults."""

    model_config = ConfigDict(frozen=True)

    customers: int = Field(default=100, ge=0)
    users: int = Field(default=200, ge=0)
    parts: int = Field(default=200, ge=0)
    machines: int = Field(default=150, ge=0)
    warehouses: int = Field(default=150, ge=0)
    transactions_per_year: int = Field(default=7500, ge=0)


class Policy(BaseModel):
    """Rules that vary by deployment rather than by command."""

    model_config = ConfigDict(frozen=True)

    negative_stock: NegativeStockPolicy = NegativeStockPolicy.WARN
    approval_quantity_threshold: Decimal | None = None
    approval_value_threshold: Decimal | None = Decimal("10000.00")
    # Segregation of duties: the user who recorded a held movement may not approve it herself,
    # or the approval thresholds would control nothing.
    segregate_approvals: bool = True
    limits: Limits = Limits()
    # A movement's date (when it happened) lies in [earliest_date, now + max_future_skew].
    earliest_date: AwareDatetime = EARLIEST_MOMENT
    max_future_skew: timedelta = Field(default=timedelta(minutes=5), ge=timedelta(0), le=timedelta(days=1))
    # How far before now a movement may be dated (a backdated posting: last week's consumption reported
    # today). Older dates are refused (backdated_too_far); a repair of a date is not held to it.
    backdate_window: timedelta = Field(default=timedelta(days=30), ge=timedelta(0))

    @field_validator("earliest_date")
    @classmethod
    def _representable(cls, value: datetime) -> datetime:
        # Never earlier than every reader can represent, whatever the deployment asks for.
        if value < EARLIEST_MOMENT:
            raise ValueError(f"must not be before {EARLIEST_MOMENT.isoformat()}")
        return value

    def requires_approval(self, quantity: Decimal, unit_price: Decimal | None) -> bool:
        """Whether a movement of this size must wait for an admin's approval."""
        if self.approval_quantity_threshold is not None and quantity > self.approval_quantity_threshold:
            return True
        if self.approval_value_threshold is not None and unit_price is not None:
            return quantity * unit_price > self.approval_value_threshold
        return False
