"""Keyset pagination: `{"items": [...], "next_cursor": ...}` with an opaque cursor of the last row's key.

A cursor is client input. Each list declares the typed shape of its sort key
(a `CursorKey`); the cursor is that key as JSON, base64url-encoded, and it
decodes to exactly the typed values the list's SQL expects or it is a 422
`invalid_cursor`. Encoding goes through the same shape, so what a page hands
out always decodes again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, TypeAdapter, ValidationError

from api.http.problems import ApiError

T = TypeVar("T")
K = TypeVar("K")

Limit = Annotated[int, Query(ge=1, le=500, description="Page size (default 50, at most 500).")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")]


def _storable(text: str) -> str:
    # No row's key holds a NUL (PostgreSQL text cannot); a lone surrogate cannot even be sent to it.
    if "\x00" in text:
        raise ValueError("text with a NUL character")
    text.encode("utf-8")  # UnicodeEncodeError is a ValueError: pydantic reports it as a validation error
    return text


def _utc(moment: datetime) -> datetime:
    # Keys are written in UTC; an offset that pushes a moment out of Python's range is not one of ours.
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("moment out of range") from error


KeyText = Annotated[str, AfterValidator(_storable)]
KeyMoment = Annotated[AwareDatetime, AfterValidator(_utc)]


class CursorKey(Generic[K]):
    """The typed sort key of one list's cursor: what it encodes is exactly what it decodes."""

    def __init__(self, shape: Any) -> None:
        # Strict: JSON numbers are not moments, nor strings numbers; only what `encode` writes comes back.
        self._adapter: TypeAdapter[K] = TypeAdapter(shape, config=ConfigDict(strict=True))

    def encode(self, key: K) -> str:
        """The opaque cursor for a row whose sort key is `key`."""
        return base64.urlsafe_b64encode(self._adapter.dump_json(key)).decode()

    def decode(self, cursor: str | None) -> K | None:
        """The sort key in `cursor` (None for the first page); anything else is a 422 `invalid_cursor`."""
        if cursor is None:
            return None
        try:
            return self._adapter.validate_json(base64.urlsafe_b64decode(cursor.encode()))
        except (binascii.Error, UnicodeEncodeError, ValidationError) as error:
            raise ApiError(
                422, "invalid_cursor", "the cursor is not one this API issued", field="cursor"
            ) from error


# The sort keys of the lists: (name-like text, id) ascending, (moment, id) newest first, (warehouse, part).
NAMED: CursorKey[tuple[str, UUID]] = CursorKey(tuple[KeyText, UUID])
DATED: CursorKey[tuple[datetime, UUID]] = CursorKey(tuple[KeyMoment, UUID])
STOCK: CursorKey[tuple[UUID, UUID]] = CursorKey(tuple[UUID, UUID])


class Page(BaseModel, Generic[T]):
    """One page of a list, in a stable order."""

    items: list[T]
    next_cursor: str | None


def page(rows: list[T], limit: int, cursor_key: CursorKey[K], key: Callable[[T], K]) -> Page[T]:
    """A page from up to `limit + 1` rows (the extra one only says there is more); `key` gives a sort key."""
    more = len(rows) > limit
    items = rows[:limit]
    return Page[T](items=items, next_cursor=cursor_key.encode(key(items[-1])) if more and items else None)


def dated_after(cursor: str | None) -> dict[str, Any]:
    """The keyset bounds (`after_date`, `after_id`) of a newest-first list's (moment, id) cursor."""
    key = DATED.decode(cursor)
    return {"after_date": key[0] if key else None, "after_id": key[1] if key else None}
