"""The HTTP benchmark's WAL per command: read from the server's pg_stat_wal, divided by requests."""

from __future__ import annotations

import psycopg
import pytest

from bench.common import wal_counters, wal_per_request
from bench.http_report import wal_line

pytestmark = pytest.mark.db


def test_rows_written_show_in_the_wal_counters(db_url: str) -> None:
    before = wal_counters(db_url)
    assert before is not None  # PostgreSQL 14 and later have pg_stat_wal
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_wal_scratch (n int PRIMARY KEY)")
        conn.execute("INSERT INTO bench_wal_scratch SELECT generate_series(1, 100) ON CONFLICT DO NOTHING")
        conn.execute("DROP TABLE bench_wal_scratch")
        conn.execute("SELECT pg_stat_force_next_flush()")  # counters reach pg_stat_wal now, not at idle
    after = wal_counters(db_url)
    assert after is not None
    per = wal_per_request(before, after, 10)
    assert per is not None
    assert per["wal_records"] >= 10  # 100 heap rows and 100 index entries at the least, over 10
    assert per["wal_bytes"] > per["wal_records"]


def test_the_report_line_says_records_bytes_and_full_page_images() -> None:
    post = {"wal_per_request": {"wal_records": 31.74, "wal_fpi": 0.25, "wal_bytes": 3300.4}}
    line = wal_line(post, {"wal_per_request": None}, 32)
    assert "at 32" in line
    assert "31.7 records, 3,300 B (0.25 full-page images); keyed: -" in line
