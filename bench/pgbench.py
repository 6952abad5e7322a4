"""PostgreSQL's own floor for a write: pgbench, one single-row INSERT per transaction, into a scratch table.

    rate(database, clients, seconds) -> {"clients", "tps", "latency_ms"}

Run against the benchmark's own database on the same server, in the same run as the HTTP phases,
so "POST /transactions at 0.15 x pgbench" compares two figures of one machine at one moment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

PGBENCH = "/usr/bin/pgbench"
TABLE = "bench_pgbench_scratch"
INSERT = f"INSERT INTO {TABLE} (client, at) VALUES (:client_id, now());\n"


def available() -> bool:
    """Whether pgbench is installed."""
    return Path(PGBENCH).exists() or shutil.which("pgbench") is not None


def prepare(database: str) -> None:
    """The scratch table (no index but its primary key, like a plain append)."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE}"
            " (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, client int, at timestamptz)"
        )


def rate(database: str, clients: int, seconds: float) -> dict[str, Any]:
    """pgbench's transactions per second (one INSERT each) with `clients` clients for `seconds`."""
    info = {k: str(v) for k, v in conninfo_to_dict(database).items() if v is not None}
    argv = [shutil.which("pgbench") or PGBENCH, "-n", "-M", "prepared", "-c", str(clients)]
    argv += ["-j", str(min(clients, 2)), "-T", str(max(1, round(seconds)))]
    for flag, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
        if key in info:
            argv += [flag, info[key]]
    env = {"PGPASSWORD": info["password"]} if "password" in info else {}
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(INSERT)
        script = Path(f.name)
    try:
        done = subprocess.run(
            [*argv, "-f", str(script), info.get("dbname", "postgres")],
            capture_output=True,
            text=True,
            env=os.environ | env,
            timeout=seconds + 120,
            check=False,
        )
    finally:
        script.unlink()
    tps = re.search(r"tps = ([0-9.]+)", done.stdout)
    latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
    if done.returncode != 0 or tps is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-800:]}")
    return {
        "clients": clients,
        "tps": float(tps.group(1)),
        "latency_ms": float(latency.group(1)) if latency else None,
    }
