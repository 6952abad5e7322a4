"""The HTTP benchmark's priming: a creation per (warehouse, part), so its phases measure stock that exists."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from bench.common import Reference
from bench.service import prime
from ledger.postgres import queries

pytestmark = pytest.mark.db


def test_every_pair_holds_one_piece_after_priming(fresh_db_url: str) -> None:
    ref = Reference(fresh_db_url, warehouses=3, parts=70)  # 210 pairs: more than one batch of 100
    pairs = [(w, p) for p in ref.part_ids for w in ref.warehouse_ids]
    prime(fresh_db_url, ref.user_id, pairs)
    with psycopg.connect(fresh_db_url) as conn:
        stock = {w: queries.on_hand(conn, w, ref.part_ids) for w in ref.warehouse_ids}
    assert all(stock[w] == {p: Decimal(1) for p in ref.part_ids} for w in ref.warehouse_ids)
