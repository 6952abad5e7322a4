"""One connection type: `ledger.postgres.connection.Connection`, which every module imports."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "ledger" / "postgres" / "connection.py"
# A connection type spelt out (psycopg's class subscripted with a row type) instead of imported.
SPELT_OUT = re.compile(r"\bConnection\[")


def test_the_connection_type_is_spelt_out_in_one_place_only() -> None:
    spelt = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for top in ("ledger", "projections", "api", "bench", "tests", "alembic")
        for path in sorted((ROOT / top).rglob("*.py"))
        for line in path.read_text().splitlines()
        if SPELT_OUT.search(line)
    ]
    assert spelt == [f"{HOME.relative_to(ROOT)}: Connection = psycopg.Connection" + "[TupleRow]"]
