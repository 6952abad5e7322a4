"""Value types shared by commands and events: quantities, text, time and fresh ids."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, StringConstraints
from pydantic_core import PydanticCustomError

MAX_STOCK = Decimal("9999999.999")  # the spec's DECIMAL(10,3)

# Every moment a client may send lies in [EARLIEST_MOMENT, LATEST_MOMENT) in UTC. PostgreSQL stores
# far more (4713 BC to 294276 AD), but psycopg and Python read back only years 1 to 9999 in UTC: a
# date accepted outside that range would be written once and fail every read that shows it.
EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(3000, 1, 1, tzinfo=UTC)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_character(value: str) -> str | None:
    """A description of the first character PostgreSQL cannot store as text, or None.

    NUL is refused by text and jsonb alike; a lone UTF-16 surrogate (JSON "\\ud800") is no
    character at all and cannot be encoded as UTF-8.
    """
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    what = "NUL character" if char == "\x00" else f"lone surrogate U+{ord(char):04X}"
    return f"{what} at {found.start()}"


def storable_text(value: str) -> str:
    """`value` if PostgreSQL can store it as text; else a validation error (type `invalid_text`)."""
    problem = unstorable_character(value)
    if problem is not None:
        raise PydanticCustomError("invalid_text", "text must be storable: {problem}", {"problem": problem})
    return value


def within_range(moment: datetime) -> datetime:
    """`moment` in UTC if it lies in the representable range (naive counts as UTC); else a validation error.

    Normalised to UTC because Python takes offsets up to +-23:59 but PostgreSQL only up to +-15:59:
    a stored "+20:00" would stop every projection that casts it.
    """
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        in_utc = aware.astimezone(UTC)
    except OverflowError:  # its offset moves it out of Python's years 1 to 9999
        in_utc = LATEST_MOMENT
    if not EARLIEST_MOMENT <= in_utc < LATEST_MOMENT:
        raise PydanticCustomError(
            "date_out_of_range",
            "the moment must lie from {earliest} up to {latest} (UTC)",
            {"earliest": EARLIEST_MOMENT.isoformat(), "latest": LATEST_MOMENT.isoformat()},
        )
    return in_utc


Text = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(storable_text)]
ShortText = Annotated[str, StringConstraints(max_length=100), AfterValidator(storable_text)]
Unit = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(storable_text)
]
ReasonCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(storable_text)
]
# Timestamp is what events hold (old events must always load, whatever they hold); commands and
# request bodies take ClientTimestamp, bounded to what every reader can represent.
Timestamp = AwareDatetime
ClientTimestamp = Annotated[AwareDatetime, AfterValidator(within_range)]
# Reference data (machines' dates) accepts a naive moment too, read as UTC.
ClientDatetime = Annotated[datetime, AfterValidator(within_range)]


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
    return moment.astimezone(UTC)


_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant
_NOT_VERSION_BITS = ~((0xF000 << 64) | (0xC000 << 48))
_SAFETY = uuid.SafeUUID.unknown


def random_uuid() -> UUID:
    """What uuid.uuid4() returns, at a third of its cost: its UUID(bytes=..., version=4) checks
    and converts in Python, about 9% of a 200-part stocktake's CPU (one new movement per part)."""
    value = (int.from_bytes(os.urandom(16)) & _NOT_VERSION_BITS) | _VERSION_4
    made = object.__new__(UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", _SAFETY)
    return made
