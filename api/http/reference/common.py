"""What the reference data modules share: caps, database errors as clear refusals, partial updates."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from api.http.problems import ApiError, conflict
from ledger.postgres.eventstore import Connection


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
