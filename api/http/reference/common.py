"""What the reference data modules share: rows as models, caps, refusals, inserts, updates, list pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from uuid import UUID

import psycopg
from fastapi import Depends
from psycopg import sql
from pydantic import BaseModel

from api.http.pagination import NAMED, Cursor, Limit, Page, page
from api.http.problems import ApiError, conflict
from ledger.postgres.connection import Connection

Row = TypeVar("Row", bound=BaseModel)


def rows(conn: Connection, model: type[Row], query: Any, params: Any) -> list[Row]:
    """Run `query`; each row as a `model`, its fields named by the query's columns."""
    cursor = conn.execute(query, params)
    names = [c.name for c in cursor.description or ()]
    return [model(**dict(zip(names, r, strict=True))) for r in cursor.fetchall()]


def by_name(cursor: str | None, limit: int, after: str = "after_name") -> dict[str, Any]:
    """A list page's parameters, ordered by (name, id): one row more than `limit`, after the cursor's key."""
    key = NAMED.decode(cursor)
    return {"limit": limit + 1, after: key[0] if key else None, "after_id": key[1] if key else None}


@dataclass(frozen=True)
class NamedPage:
    """A list's page, in (name, id) order: at most `limit` rows after the `cursor`'s key.

    A typed dependency (FastAPI fills it from the query), so a list route declares only its own
    filters; `limit` and `cursor` follow them in the OpenAPI document, as they did when each route
    declared them.
    """

    limit: Limit = 50
    cursor: Cursor = None

    def bounds(self, after: str = "after_name") -> dict[str, Any]:
        """The page's SQL parameters (`after` names the parameter of the name-like sort column)."""
        return by_name(self.cursor, self.limit, after)

    def of(self, found: list[Row], key: Callable[[Row], tuple[str, UUID]]) -> Page[Row]:
        """The page of `found` (queried with `bounds`), `key` giving a row's (name, id)."""
        return page(found, self.limit, NAMED, key)


ByName = Annotated[NamedPage, Depends()]


def check_cap(conn: Connection, table: str, cap: int, what: str, where: str = "true") -> None:
    """Refuse (409 limit_reached) when `table` already holds `cap` rows matching `where`."""
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE " + where).format(sql.Identifier(table))
    ).fetchone()
    if row is not None and row[0] >= cap:
        raise conflict("limit_reached", f"the limit of {cap} {what} is reached", limit=what)


@contextmanager
def refusals(
    unique: Mapping[str, tuple[str, str]], checks: Mapping[str, tuple[str, str]] | None = None
) -> Iterator[None]:
    """Turn constraint violations into 4xx refusals: unique by constraint name -> 409, checks -> 422."""
    try:
        yield
    except psycopg.errors.UniqueViolation as error:
        code, detail = unique.get(error.diag.constraint_name or "", ("conflict", "it already exists"))
        raise conflict(code, detail) from error
    except psycopg.errors.CheckViolation as error:
        code, detail = (checks or {}).get(
            error.diag.constraint_name or "", ("invalid_request", str(error.diag.message_primary))
        )
        raise ApiError(422, code, detail) from error
    except psycopg.errors.ForeignKeyViolation as error:
        raise ApiError(
            422, "unknown_reference", str(error.diag.message_detail or error.diag.message_primary)
        ) from error


def update_statement(table: str, changes: Mapping[str, Any], columns: str) -> sql.Composed:
    """UPDATE table SET <given fields>, updated_at = now() WHERE id = %(id)s RETURNING <columns>."""
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changes
    )
    return sql.SQL("UPDATE {} SET {}, updated_at = now() WHERE id = %(id)s RETURNING " + columns).format(
        sql.Identifier(table), sets
    )


def insert_statement(table: str, columns: Iterable[str], returning: str) -> sql.Composed:
    """INSERT INTO table (<columns>) VALUES (%(<column>)s, ...) RETURNING <returning>."""
    names = list(columns)
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING " + returning).format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(n) for n in names),
        sql.SQL(", ").join(sql.Placeholder(n) for n in names),
    )


def insert_capped(
    conn: Connection, model: type[Row], table: str, cap: int, values: Mapping[str, Any], returning: str
) -> Row:
    """Insert one row into `table` unless it holds `cap` rows already (409 limit_reached).

    Call it inside the transaction (and `refusals`) of the change: the lock, which conflicts with
    itself, makes two concurrent inserts count one after the other, so the cap holds.
    """
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(sql.Identifier(table)))
    check_cap(conn, table, cap, table)
    return rows(conn, model, insert_statement(table, values, returning), values)[0]
