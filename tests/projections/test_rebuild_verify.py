"""Rebuild swaps in identical tables without interrupting reads; verify catches tampered rows and log."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from api.cli import main
from ledger.commands import ApproveMovement, ConsumeStock, CreateStock, TransferStock
from ledger.policy import Policy
from projections.engine.runner import ensure_checkpoints
from projections.engine.worker import ProjectorHub
from projections.registry import ALL, select
from projections.tools.rebuild import SHADOW, _round, rebuild
from projections.tools.shadow_tables import create_copies
from projections.tools.verify import verify
from tests.fixtures.ledger import Conn, Site, forge, make_site, run
from tests.fixtures.world import World
from tests.projections.conftest import catch_up, inventory, log_fold

pytestmark = pytest.mark.db
D = Decimal
TABLES = ("inventory", "transactions", "part_usage", "stock_adjustments", "transaction_approvals")


@pytest.fixture
def own(fresh_db_url: str) -> Iterator[tuple[Conn, Site]]:
    """A database of the test's own with movements of every kind, projected."""
    with psycopg.connect(fresh_db_url, autocommit=True) as conn:
        site = make_site(World(conn))
        machine = site.world.machine(site.org)
        gated = Policy(approval_quantity_threshold=D(50))
        run(conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(20)), site)
        run(conn, CreateStock(part_id=site.bulk, to_warehouse_id=site.b, quantity=D("3.5")), site)
        run(
            conn,
            TransferStock(part_id=site.part, from_warehouse_id=site.a, to_warehouse_id=site.b, quantity=D(5)),
            site,
        )
        run(
            conn,
            ConsumeStock(part_id=site.part, from_warehouse_id=site.a, quantity=D(2), machine_id=machine),
            site,
        )
        [big] = run(
            conn, CreateStock(part_id=site.part, to_warehouse_id=site.a, quantity=D(80)), site, gated
        ).transaction_ids
        run(conn, ApproveMovement(transaction_id=big), site, gated)
        catch_up(conn)
        yield conn, site


def snapshot(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}


def total_stock(conn: Conn) -> Decimal:
    row = conn.execute("SELECT coalesce(sum(current_stock), 0) FROM inventory").fetchone()
    assert row is not None
    return Decimal(row[0])


def test_verify_passes_on_projections_built_from_the_log(own: tuple[Conn, Site]) -> None:
    conn, _ = own
    report = verify(conn, ALL)
    assert report.ok, report
    assert report.events_checked == 6
    assert {name: c.position for name, c in report.checkpoints.items()} == {p.name: 6 for p in ALL}


def test_verify_finds_a_tampered_projection_row(own: tuple[Conn, Site]) -> None:
    conn, site = own
    conn.execute(
        "UPDATE inventory SET current_stock = current_stock + 1 WHERE warehouse_id = %s AND part_id = %s",
        [site.a, site.part],
    )
    conn.execute("UPDATE transactions SET notes = 'edited' WHERE transaction_type = 'transfer'")
    report = verify(conn, ALL)
    assert not report.ok
    assert {d.table for d in report.differences} == {"inventory", "transactions"}
    assert any("the fold of the log says 93" in p for p in report.problems)


def test_verify_finds_a_tampered_log_row(own: tuple[Conn, Site]) -> None:
    conn, _ = own
    forge(
        conn,
        "UPDATE ledger_events SET payload = jsonb_set(payload, '{notes}', '\"forged\"')"
        " WHERE event_type = 'StockTransferred'",
    )
    report = verify(conn, ALL)
    assert not report.ok
    assert any("does not match its hash" in p for p in report.problems)


def test_rebuild_reproduces_every_row_and_repairs_tampering(own: tuple[Conn, Site]) -> None:
    conn, _ = own
    before = snapshot(conn)
    conn.execute("UPDATE inventory SET current_stock = 999")
    conn.execute("DELETE FROM transaction_approvals")
    result = rebuild(conn, ALL, io.StringIO())
    assert result.events == 6
    assert snapshot(conn) == before
    assert verify(conn, ALL).ok
    leftovers = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = ANY(%s)",
        [SHADOW, list(TABLES)],
    ).fetchone()
    assert leftovers == (0,)


def test_reads_see_the_old_tables_until_the_swap_and_the_new_ones_after(
    own: tuple[Conn, Site], fresh_db_url: str
) -> None:
    conn, _ = own
    correct = total_stock(conn)
    conn.execute("UPDATE inventory SET current_stock = current_stock + 1000")
    tampered = total_stock(conn)
    seen: set[Decimal] = set()
    done = threading.Event()

    def reader() -> None:
        with psycopg.connect(fresh_db_url, autocommit=True) as r:
            while not done.is_set():
                seen.add(total_stock(r))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        rebuild(conn, ALL, io.StringIO(), batch_size=1)
    finally:
        done.set()
        thread.join(10)
    assert seen <= {tampered, correct} and tampered in seen
    assert total_stock(conn) == correct


def test_an_interrupted_rebuild_resumes_from_its_shadow_checkpoint(own: tuple[Conn, Site]) -> None:
    conn, _ = own
    before = snapshot(conn)
    conn.execute(f"CREATE SCHEMA {SHADOW}")
    create_copies(conn, SHADOW, ALL)
    conn.execute(f"SET search_path = {SHADOW}, public")
    ensure_checkpoints(conn, ALL)
    with conn.transaction():
        assert _round(conn, ALL, 3) == 3  # then the process "dies"
    conn.execute("RESET search_path")
    result = rebuild(conn, ALL, io.StringIO())
    assert result.resumed_from.position == 3 and result.events == 3
    assert snapshot(conn) == before


def test_rebuild_while_workers_run_and_commands_arrive(own: tuple[Conn, Site], fresh_db_url: str) -> None:
    conn, site = own
    hub = ProjectorHub(fresh_db_url, ALL, batch_size=2, poll_interval=0.02)
    hub.start()
    stop = threading.Event()

    def writer() -> None:
        with psycopg.connect(fresh_db_url, autocommit=True) as w:
            for _ in range(2000):  # bounded, whatever happens to the rebuild
                if stop.is_set():
                    return
                run(w, CreateStock(part_id=site.part, to_warehouse_id=site.b, quantity=D(1)), site)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        rebuild(conn, ALL, io.StringIO(), batch_size=3)
    finally:
        stop.set()
        thread.join(10)
        hub.stop()
    catch_up(conn)  # what the workers had not done yet when stopped
    assert verify(conn, ALL).ok
    assert inventory(conn) == log_fold(conn)


def test_rebuilding_one_projection_takes_those_tied_to_it() -> None:
    assert [p.name for p in select(["stock_adjustments"])] == ["inventory", "stock_adjustments"]
    assert [p.name for p in select(["transactions"])] == ["transactions", "transaction_approvals"]
    assert [p.name for p in select(["part_usage"])] == ["part_usage"]


def test_cli_verify_and_rebuild_exit_codes(
    own: tuple[Conn, Site],
    fresh_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    conn, _ = own
    info = {k: str(v) for k, v in conninfo_to_dict(fresh_db_url).items()}
    url = f"postgresql:///{quote(info.pop('dbname'))}?{urlencode(info)}"  # works for sockets too
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["verify"]) == 0
    conn.execute("UPDATE part_usage SET quantity = quantity + 1")
    assert main(["verify"]) == 1
    assert "DIFFERENCE part_usage" in capsys.readouterr().out
    assert main(["rebuild", "part_usage"]) == 0
    assert main(["verify", "part_usage"]) == 0
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "rebuilt part_usage" in out
    assert any(line.split()[:3] == ["part_usage", "6", "6"] for line in out.splitlines())
    assert main(["rebuild", "nonsense"]) == 2
