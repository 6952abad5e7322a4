"""--json on status, verify, audit, seal and stock: one JSON document on stdout with the README's keys."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from api.cli import main
from projections.registry import ALL
from projections.tools.rebuild import rebuild
from tests.fixtures.ledger import Conn, Site

pytestmark = pytest.mark.db


def document(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> Any:
    capsys.readouterr()
    assert main([*args, "--json"]) == status
    return json.loads(capsys.readouterr().out)


def test_status(small_ledger: tuple[Conn, Site], capsys: pytest.CaptureFixture[str]) -> None:
    conn, _ = small_ledger
    rebuild(conn, ALL, io.StringIO())
    doc = document(capsys, "status")
    assert list(doc) == ["projections"]
    assert [p["name"] for p in doc["projections"]] == [p.name for p in ALL]
    head = conn.execute("SELECT max(position) FROM ledger_events").fetchone()
    inventory = next(p for p in doc["projections"] if p["name"] == "inventory")
    assert list(inventory) == [
        "name",
        "position",
        "events_applied",
        "lag_events",
        "lag_seconds",
        "updated_at",
        "worker_active",
    ]
    assert head is not None and inventory["position"] == head[0] and inventory["lag_events"] == 0
    # Not False: status counts advisory locks server-wide, so other tests' workers show here.
    assert isinstance(inventory["worker_active"], bool)


def test_verify(small_ledger: tuple[Conn, Site], capsys: pytest.CaptureFixture[str]) -> None:
    conn, _ = small_ledger
    rebuild(conn, ALL, io.StringIO())
    doc = document(capsys, "verify")
    assert list(doc) == ["ok", "events_checked", "checkpoints", "differences", "problems"]
    assert doc["ok"] is True and doc["events_checked"] == 6 and doc["differences"] == []
    conn.execute("UPDATE inventory SET current_stock = current_stock + 1")
    doc = document(capsys, "verify", status=1)
    assert doc["ok"] is False
    assert [d["table"] for d in doc["differences"]] == ["inventory"]
    assert list(doc["differences"][0]) == ["table", "only_live", "only_recomputed", "sample_keys"]


def test_seal_then_audit(small_ledger: tuple[Conn, Site], capsys: pytest.CaptureFixture[str]) -> None:
    conn, _ = small_ledger
    doc = document(capsys, "seal")
    [sealed] = doc["seals"]
    head = conn.execute("SELECT max(position) FROM ledger_events").fetchone()
    assert head is not None
    assert (sealed["seal_number"], sealed["event_count"], sealed["through_position"]) == (1, 6, head[0])
    assert len(bytes.fromhex(sealed["digest"])) == 32
    assert document(capsys, "seal") == {"seals": []}
    assert document(capsys, "audit") == {
        "ok": True,
        "source": "database",
        "events_checked": 6,
        "streams_checked": 5,
        "seals_checked": 1,
        "problems": [],
    }
    with conn.transaction():
        conn.execute("ALTER TABLE ledger_seals DISABLE TRIGGER ledger_seals_append_only")
        conn.execute("UPDATE ledger_seals SET digest = '\\x00'::bytea || substring(digest from 2)")
        conn.execute("ALTER TABLE ledger_seals ENABLE TRIGGER ledger_seals_append_only")
    doc = document(capsys, "audit", status=1)
    assert doc["ok"] is False and doc["problems"] == [
        "seal 1: digest differs: events changed, removed or reordered"
    ]


def test_stock_takes_json_as_well_as_format_json(
    small_ledger: tuple[Conn, Site], capsys: pytest.CaptureFixture[str]
) -> None:
    _, site = small_ledger
    doc = document(capsys, "stock", "--position", "1000000", "--part", str(site.part))
    capsys.readouterr()
    assert main(["stock", "--position", "1000000", "--part", str(site.part), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == doc
    assert sorted((row["warehouse_id"], row["current_stock"]) for row in doc) == sorted(
        [(str(site.a), "7.000"), (str(site.b), "2.000")]
    )
