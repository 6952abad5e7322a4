"""Keyset pagination: `{"items": [...], "next_cursor": ...}` with an opaque cursor of the last row's key."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from api.http.problems import ApiError

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=500, description="Page size (default 50, at most 500).")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")]


class Page(BaseModel, Generic[T]):
    """One page of a list, in a stable order."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(key: list[Any]) -> str:
    """An opaque cursor for the row whose sort key is `key`."""
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode()


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    """The sort key in `cursor` (None for the first page); a malformed cursor is a 422."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(422, "invalid_cursor", "the cursor is not one this API issued") from error
    if not isinstance(key, list) or len(key) != size:
        raise ApiError(422, "invalid_cursor", "the cursor is not one this API issued")
    return key


def page(rows: list[T], limit: int, key: Any) -> Page[T]:
    """A page from up to `limit + 1` rows (the extra one only says there is more)."""
    more = len(rows) > limit
    items = rows[:limit]
    return Page[T](items=items, next_cursor=encode_cursor(key(items[-1])) if more and items else None)


def dated_after(cursor: str | None) -> dict[str, Any]:
    """The keyset bounds (`after_date`, `after_id`) of a newest-first list's (date, id) cursor."""
    key = decode_cursor(cursor, 2)
    return {"after_date": key[0] if key else None, "after_id": key[1] if key else None}
