"""Copies of the projections' tables elsewhere, and the SQL to compare or sync them with the live ones.

A rebuild builds into the schema `abparts_rebuild` and verify into temporary
tables; the projections' SQL runs unchanged against either, by search_path.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from ledger.postgres.connection import Connection
from projections.engine.projection import Projection, Table

COLUMNS = """
SELECT column_name FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position
"""
NON_UNIQUE_INDEXES = """
SELECT i.indexrelid::regclass::text FROM pg_index i
WHERE i.indrelid = %s::regclass AND NOT i.indisunique
"""


def tables_of(projections: tuple[Projection, ...]) -> tuple[Table, ...]:
    """Every table of `projections`, parents before the tables that refer to them."""
    return tuple(t for p in projections for t in p.tables)


def columns(conn: Connection, table: str) -> list[str]:
    """The live table's columns, in order."""
    return [row[0] for row in conn.execute(COLUMNS, [table]).fetchall()]


def create_copies(conn: Connection, schema: str | None, projections: tuple[Projection, ...]) -> None:
    """Create empty copies of the checkpoints and of every table of `projections` (TEMP when schema is None).

    Copies keep their unique indexes (the projections' upserts need them) and
    drop the others, which would only slow down a bulk build.
    """
    temp = schema is None
    names = ["projection_checkpoints", *(t.name for t in tables_of(projections))]
    for name in names:
        target = sql.Identifier(name) if temp else sql.Identifier(schema or "", name)
        conn.execute(
            sql.SQL("CREATE {temp} TABLE IF NOT EXISTS {target} (LIKE {source} INCLUDING ALL) {drop}").format(
                temp=sql.SQL("TEMP" if temp else ""),
                target=target,
                source=sql.Identifier("public", name),
                drop=sql.SQL("ON COMMIT DROP" if temp else ""),
            )
        )
        qualified = f"pg_temp.{name}" if temp else f"{schema}.{name}"
        for (index,) in conn.execute(NON_UNIQUE_INDEXES, [qualified]).fetchall():
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(index)))


@dataclass(frozen=True)
class Difference:
    """Rows of one table that differ between the live table and the recomputed one."""

    table: str
    only_live: int
    only_recomputed: int
    sample_keys: tuple[str, ...]


def compare(conn: Connection, table: Table, other: str) -> Difference | None:
    """Compare the live `table` with its copy in schema `other`; None when they are equal."""
    cols = [c for c in columns(conn, table.name) if c not in table.not_compared]
    listed = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
    live = sql.Identifier("public", table.name)
    copy = sql.Identifier(other, table.name)
    key = sql.SQL(", ").join(sql.Identifier(c) for c in table.key)
    query = sql.SQL(
        """
        WITH a AS (SELECT {cols} FROM {live} EXCEPT ALL SELECT {cols} FROM {copy}),
             b AS (SELECT {cols} FROM {copy} EXCEPT ALL SELECT {cols} FROM {live})
        SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b),
            ARRAY(SELECT concat_ws('/', {key}) FROM (SELECT {key} FROM a UNION SELECT {key} FROM b) k
                  ORDER BY 1 LIMIT 5)
        """
    ).format(cols=listed, live=live, copy=copy, key=key)
    row = conn.execute(query).fetchone()
    assert row is not None
    if row[0] == 0 and row[1] == 0:
        return None
    return Difference(table.name, row[0], row[1], tuple(row[2]))


def sync_into_live(conn: Connection, schema: str, projections: tuple[Projection, ...]) -> None:
    """Make the live tables equal to their copies in `schema`, writing only the rows that differ."""
    tables = tables_of(projections)
    for table in reversed(tables):  # rows that refer to others go first
        same_key = sql.SQL(" AND ").join(
            sql.SQL("c.{k} = l.{k}").format(k=sql.Identifier(k)) for k in table.key
        )
        conn.execute(
            sql.SQL("DELETE FROM {live} l WHERE NOT EXISTS (SELECT FROM {copy} c WHERE {same_key})").format(
                live=sql.Identifier("public", table.name),
                copy=sql.Identifier(schema, table.name),
                same_key=same_key,
            )
        )
    for table in tables:
        cols = columns(conn, table.name)
        key = sql.SQL(", ").join(sql.Identifier(c) for c in table.key)
        updates = sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in cols if c not in table.key
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO {live} AS l SELECT * FROM {copy} ON CONFLICT ({key}) DO UPDATE SET {updates} "
                "WHERE (l.*) IS DISTINCT FROM (EXCLUDED.*)"
            ).format(
                live=sql.Identifier("public", table.name),
                copy=sql.Identifier(schema, table.name),
                key=key,
                updates=updates,
            )
        )
