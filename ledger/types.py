"""Value types shared by commands and events: quantities, text and time."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints

MAX_STOCK = Decimal("9999999.999")  # the spec's DECIMAL(10,3)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


Text = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_no_nul)]
ShortText = Annotated[str, StringConstraints(max_length=100), AfterValidator(_no_nul)]
Unit = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(_no_nul)
]
ReasonCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_no_nul)
]
Timestamp = AwareDatetime


def decimal_places(value: Decimal) -> int:
    """How many decimals `value` really has (trailing zeros do not count)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def is_whole(value: Decimal) -> bool:
    """Whether `value` is a whole number."""
    return value == value.to_integral_value()


def utc(moment: datetime) -> datetime:
    """The same moment expressed in UTC."""
    from datetime import UTC

    return moment.astimezone(UTC)
