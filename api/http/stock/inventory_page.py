"""GET /inventory's page, built as JSON by PostgreSQL in one statement and sent as those bytes.

Two costs of the generic read path are cut here (issue 12):

- The statement holds only the filters the request gives. One text with `(%(x)s IS NULL OR ...)`
  for every filter gets a generic plan once psycopg prepares it (after 5 runs): PostgreSQL cannot
  tell which filters are off, estimates one row and sorts a scan of the whole table (EXPLAIN:
  2.5 ms a page, against 0.4 ms for the index range). A statement per shape of filters is
  planned for its shape and served by `idx_inventory_warehouse_part` (tests/api/test_keyset_plans.py).
- The items are JSON text from SQL, written exactly as the pydantic models write them (the
  field order of `InventoryOut`, Decimals as strings, moments in ISO 8601 with the session's
  offset or `Z`, microseconds only when not zero, nulls as `null`; strings escaped by `to_json`,
  as pydantic escapes them): no model per row, no validation of the returned page.
  tests/api/test_inventory_json.py compares the bytes with the models' for varied rows.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from uuid import UUID

from api.http.pagination import STOCK
from ledger.postgres.connection import Connection

# Each filter's condition, present in the statement only when the filter is given.
CONDITIONS = {
    "scope": "w.organization_id = ANY(%(scope)s::uuid[])",
    "warehouse_id": "i.warehouse_id = %(warehouse_id)s::uuid",
    "part_id": "i.part_id = %(part_id)s::uuid",
    # strpos, not LIKE: wildcards in the text are taken literally, as GET /parts?q= takes them.
    "q": "(strpos(lower(p.part_number), lower(%(q)s::text)) > 0"
    " OR strpos(lower(p.name), lower(%(q)s::text)) > 0)",
    "organization_id": "w.organization_id = %(organization_id)s::uuid",
    "low_stock": "i.current_stock <= i.minimum_stock_recommendation",
    "after": "(i.warehouse_id, i.part_id) > (%(after_warehouse)s::uuid, %(after_part)s::uuid)",
}


def _moment(column: str) -> str:
    # pydantic's ISO 8601: `.ffffff` only when not zero, `Z` for a zero offset, else `+HH:MM`.
    text = f"to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM')"
    return f"""'"' || replace(replace({text}, '.000000', ''), '+00:00', 'Z') || '"'"""


def _quoted(column: str) -> str:
    # uuid and numeric text never holds a character JSON escapes.
    return f"""'"' || {column} || '"'"""


def _text(column: str) -> str:
    return f"to_json({column})::text"


# InventoryOut's fields, in its order: (name, how its value is written, the column).
FIELDS = (
    ("id", _quoted, "i.id"),
    ("warehouse_id", _quoted, "i.warehouse_id"),
    ("part_id", _quoted, "i.part_id"),
    ("current_stock", _quoted, "i.current_stock"),
    ("reserved_stock", _quoted, "i.reserved_stock"),
    ("available_stock", _quoted, "(i.current_stock - i.reserved_stock)"),
    ("minimum_stock_recommendation", _quoted, "i.minimum_stock_recommendation"),
    ("unit_of_measure", _text, "i.unit_of_measure"),
    ("reorder_threshold_set_by", _text, "i.reorder_threshold_set_by"),
    ("last_recommendation_update", _moment, "i.last_recommendation_update"),
    ("last_updated", _moment, "i.last_updated"),
    ("created_at", _moment, "i.created_at"),
    ("organization_id", _quoted, "w.organization_id"),
    ("part_number", _text, "p.part_number"),
    ("part_name", _text, "p.name"),
    ("warehouse_name", _text, "w.name"),
    ("organization_name", _text, "o.name"),
)


def _item() -> str:
    """The SQL expression of one row's JSON object (a null value is `null`)."""
    parts = [f"""'"{name}":' || coalesce({write(column)}, 'null')""" for name, write, column in FIELDS]
    return "'{' || " + " || ',' || ".join(parts) + " || '}'"


ITEM = _item()

PAGE = """
SELECT coalesce(string_agg(item, ',' ORDER BY n) FILTER (WHERE n <= %(limit)s), ''), max(n) > %(limit)s,
    (array_agg(warehouse_id) FILTER (WHERE n = %(limit)s))[1],
    (array_agg(part_id) FILTER (WHERE n = %(limit)s))[1]
FROM (
    SELECT i.warehouse_id, i.part_id, {item} AS item,
        row_number() OVER (ORDER BY i.warehouse_id, i.part_id) AS n
    FROM inventory i
    JOIN warehouses w ON w.id = i.warehouse_id
    JOIN parts p ON p.id = i.part_id
    JOIN organizations o ON o.id = w.organization_id
    {where}
    ORDER BY i.warehouse_id, i.part_id
    LIMIT %(limit)s + 1
) page
"""


def statement(filters: dict[str, Any]) -> str:
    """The page's statement for the filters given (None, or False for `low_stock`, is not given)."""
    return _shaped(tuple(name for name in CONDITIONS if filters.get(name) not in (None, False)))


@cache
def _shaped(given: tuple[str, ...]) -> str:
    # At most 2**7 texts, each from the constants above: no client text is ever part of one.
    where = ("WHERE " + "\n      AND ".join(CONDITIONS[name] for name in given)) if given else ""
    return PAGE.format(item=ITEM, where=where)


def parameters(filters: dict[str, Any], limit: int) -> dict[str, Any]:
    """The statement's parameters: the filters, the cursor's key split in two, the page size."""
    after: tuple[UUID, UUID] | None = filters.get("after")
    return filters | {
        "after_warehouse": after[0] if after else None,
        "after_part": after[1] if after else None,
        "limit": limit,
    }


def page_json(conn: Connection, filters: dict[str, Any], limit: int) -> bytes:
    """The page as GET /inventory answers it: `{"items": [...], "next_cursor": ...}`, UTF-8."""
    row = conn.execute(statement(filters), parameters(filters, limit)).fetchone()
    assert row is not None  # an aggregate always answers one row
    items, more, warehouse_id, part_id = row
    cursor = f'"{STOCK.encode((warehouse_id, part_id))}"' if more else "null"
    return f'{{"items":[{items}],"next_cursor":{cursor}}}'.encode()
