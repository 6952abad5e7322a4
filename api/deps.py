"""Typed FastAPI dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg_pool import ConnectionPool


def _connection(request: Request) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        yield conn


Connection = Annotated[psycopg.Connection[tuple[object, ...]], Depends(_connection)]
