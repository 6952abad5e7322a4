"""The one connection type: a psycopg connection with tuple rows, named by every module that takes one.

Public (api/, the projections, the tests and the benchmarks import it from here), so that naming
the type never reaches into the store's private modules.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

Connection = psycopg.Connection[TupleRow]
